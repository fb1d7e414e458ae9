# lit configuration that runs the GoogleTest binaries under unittests/.
import os

import lit.formats

config.name = "SD-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.sd_obj_root, "unittests")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest("bin", "Tests")

# Sanitizer settings reach the binaries of a sanitizer build
# (scripts/sanitize.sh).
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
