"""The installed font faces that can render Latin text, grouped by design lineage.

Faces are found by scanning the system font folders (Debian's font
packages install under /usr/share/fonts; scripts/install-deps.sh brings the
set listed in docs/Accuracy.md). A face is kept when it has a real glyph
for every character the labels use. Faces are grouped by *lineage*, not by
file or family name: metric clones and forks of one design (Liberation and
Arimo, Nimbus Sans and FreeSans and TeX Gyre Heros, Lato and Carlito, Open
Sans and Noto Sans, ...) look alike, so a test split that is to hold fonts
the calibration never saw must hold whole lineages.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"),
             Path("/usr/share/texmf/fonts/opentype/public"))  # fonts-texgyre
MIN_FACES = 40
# Characters every kept face must draw (the labels of smartdeal.data.words).
REQUIRED = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            ".,:;!?'\"()$%/-&")
# Families that map letters to symbols, or are math/TeX glyph sets.
EXCLUDED = re.compile(r"symbol|dingbat|d050000l|math|emoji|^cm|^ms[ab]m|^esint|"
                      r"^wasy|^rsfs|^stmary|^eufm|^dsrom", re.IGNORECASE)
# (pattern on the family name, lineage): clones and forks of one design.
LINEAGES: Tuple[Tuple[str, str], ...] = (
    (r"^(dejavu|bitstream vera)", "vera"),
    (r"^(liberation sans|arimo)", "arimo"),
    (r"^(liberation serif|tinos)", "tinos"),
    (r"^(liberation mono|cousine)", "cousine"),
    (r"^(nimbus sans|freesans|tex gyre heros)", "helvetica"),
    (r"^(nimbus roman|freeserif|tex gyre termes)", "times"),
    (r"^(nimbus mono|freemono|tex gyre cursor)", "courier"),
    (r"^(p052|tex gyre pagella)", "palatino"),
    (r"^(c059|tex gyre schola)", "century"),
    (r"^(urw bookman|tex gyre bonum)", "bookman"),
    (r"^(urw gothic|tex gyre adventor)", "avantgarde"),
    (r"^(z003|tex gyre chorus)", "chancery"),
    (r"^(lato|carlito)", "lato"),
    (r"^(open sans|noto sans|droid sans)", "opensans"),
    (r"^(noto serif|droid serif)", "notoserif"),
    (r"^roboto", "roboto"),
)


class FontError(RuntimeError):
    """Too few usable font faces are installed."""


@dataclass(frozen=True)
class Face:
    path: str
    family: str
    style: str
    lineage: str


def lineage_of(family: str) -> str:
    for pattern, name in LINEAGES:
        if re.search(pattern, family, re.IGNORECASE):
            return name
    return re.sub(r"[^a-z0-9]+", "-", family.lower()).strip("-")


def _covers(font, chars: str) -> bool:
    """True when `font` draws each of `chars` with a glyph of its own (not
    the .notdef box, not blank)."""
    def mask(c):
        m = font.getmask(c)
        return m.size, bytes(m)

    notdef = mask("\uffff")
    for c in chars:
        size, data = mask(c)
        if (size, data) == notdef or not any(data):
            return False
    return True


def _font_dirs() -> Sequence[Path]:
    extra = os.environ.get("SD_FONT_DIRS")
    return tuple(Path(p) for p in extra.split(":")) if extra else FONT_DIRS


def _files(dirs: Sequence[Path]) -> List[Path]:
    return [p for d in dirs for p in sorted(d.rglob("*"))
            if p.suffix.lower() in (".ttf", ".otf")]


def _check(path: Path) -> Optional[Face]:
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 24)
    except OSError:
        return None
    family, style = font.getname()
    family, style = family or path.stem, style or ""
    if EXCLUDED.search(family) or not _covers(font, REQUIRED):
        return None
    return Face(str(path), family, style, lineage_of(family))


@functools.lru_cache(maxsize=None)
def _scan(dirs: Tuple[Path, ...]) -> Tuple[Face, ...]:
    """The usable faces under `dirs`. Checking every glyph of ~450 files
    takes seconds, so the result is cached on disk, keyed by the files'
    paths, sizes and times (an install or removal invalidates it)."""
    files = _files(dirs)
    stamp = hashlib.sha256(repr([(str(p), p.stat().st_size, p.stat().st_mtime_ns)
                                 for p in files] + [REQUIRED, EXCLUDED.pattern,
                                                    LINEAGES]).encode()).hexdigest()
    cache = _cache_dir() / f"fonts-{stamp[:16]}.json"
    if cache.exists():
        try:
            return tuple(Face(**f) for f in json.loads(cache.read_text()))
        except (ValueError, TypeError):
            pass
    found = tuple(f for f in map(_check, files) if f is not None)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([f.__dict__ for f in found]))
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache only costs time
    return found


def _cache_dir() -> Path:
    base = os.environ.get("SD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                      "smartdeal")
    return Path(base) / "data"


def faces(minimum: int = MIN_FACES) -> List[Face]:
    """Every usable installed face, sorted by path; at least `minimum`."""
    found = list(_scan(tuple(_font_dirs())))
    if len(found) < minimum:
        raise FontError(
            f"only {len(found)} usable font faces under "
            f"{', '.join(map(str, _font_dirs()))}; the realistic data needs at least "
            f"{minimum} (run scripts/install-deps.sh, which installs Debian's font "
            f"packages)")
    return found


def by_lineage(found: Sequence[Face]) -> Dict[str, List[Face]]:
    out: Dict[str, List[Face]] = {}
    for f in found:
        out.setdefault(f.lineage, []).append(f)
    return out
