# The architecture page names everything a newcomer looks for: every pass and
# pipeline sd-opt registers beyond upstream mlir-opt's, every translation of
# sd-translate and every tool under tools/. Fails, listing what is missing,
# when docs/Architecture.md does not name one.
#
# RUN: %PYTHON %s %sd_src_root/docs/Architecture.md %sd_src_root/tools | FileCheck %s
# CHECK: docs/Architecture.md names {{[0-9]+}} passes and pipelines, {{[0-9]+}} translations and {{[0-9]+}} tools
#
# The check can fail: a page without one pass is refused, naming it.
# RUN: not %PYTHON %s %sd_src_root/docs/Architecture.md %sd_src_root/tools --without sd-partition 2>&1 | FileCheck %s --check-prefix=MISSING
# MISSING: error: docs/Architecture.md does not name: pass --sd-partition

import re
import subprocess
import sys
from pathlib import Path


def registered(tool: str, section: str) -> set:
    """The `--name` entries of a tool's --help in `section` (passes and
    pipelines sit 6 spaces deep, their options deeper)."""
    text = subprocess.run([tool, "--help"], capture_output=True, text=True,
                          check=True).stdout
    names, inside = set(), False
    for line in text.splitlines():
        if line.strip() == section:
            inside = True
            continue
        if inside and re.match(r"^ {0,3}\S", line):
            inside = False
        m = re.match(r"^      --([\w-]+)", line)
        if inside and m:
            names.add(m.group(1))
    return names


def named(page: str, name: str) -> bool:
    """`name` as a whole word, alone or as a `--flag`."""
    return re.search(rf"(?<![\w-])(?:--)?{re.escape(name)}(?![\w-])",
                     page) is not None


def main(argv) -> int:
    doc, tools_dir = Path(argv[1]), Path(argv[2])
    page = doc.read_text()
    if "--without" in argv:  # the test of the check itself
        page = page.replace(argv[argv.index("--without") + 1], "")
    passes = (registered("sd-opt", "Compiler passes to run")
              - registered("mlir-opt", "Compiler passes to run"))
    translations = registered("sd-translate", "Translations to perform")
    tools = {p.name for p in tools_dir.iterdir() if p.is_dir()}
    if not passes or not translations or not tools:
        print("error: found nothing to check (sd-opt, sd-translate or tools/ "
              "listed nothing)", file=sys.stderr)
        return 1
    missing = ([f"pass --{n}" for n in sorted(passes) if not named(page, n)]
               + [f"translation --{n}" for n in sorted(translations)
                  if not named(page, n)]
               + [f"tool {n}" for n in sorted(tools) if not named(page, n)])
    if missing:
        print(f"error: docs/Architecture.md does not name: {', '.join(missing)}",
              file=sys.stderr)
        return 1
    print(f"docs/Architecture.md names {len(passes)} passes and pipelines, "
          f"{len(translations)} translations and {len(tools)} tools")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
