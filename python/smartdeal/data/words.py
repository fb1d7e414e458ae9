"""Labels for rendered text: Debian's word lists with case, digits and punctuation.

Words come from wamerican, wbritish and wamerican-large (whichever are
installed; at least one must be). A label is a word as listed, capitalized
or in upper case, sometimes with trailing punctuation or in brackets or
quotes; some labels are numbers, prices, percentages, dates or times. Every
label uses only characters of LABEL_CHARS (all in the recognizer's
dictionary), and belongs to a split by its key (splits.word_split).
"""

from __future__ import annotations

import functools
import random
import re
import string
from pathlib import Path
from typing import List, Tuple

from . import splits

WORD_LISTS = (Path("/usr/share/dict/american-english"),
              Path("/usr/share/dict/british-english"),
              Path("/usr/share/dict/american-english-large"))
LETTERS = string.ascii_letters
LABEL_CHARS = LETTERS + string.digits + ".,:;!?'\"()$%/-&"
MIN_LEN, MAX_LEN = 2, 14
TRAILING = ".,:;!?"
WRAPS = (("(", ")"), ('"', '"'), ("'", "'"))


def key(label: str) -> str:
    """What two labels share when they are 'the same word': letters and
    digits, lower case."""
    return re.sub(r"[^0-9a-z]", "", label.lower())


@functools.lru_cache(maxsize=None)
def _pool() -> Tuple[str, ...]:
    found = [p for p in WORD_LISTS if p.exists()]
    if not found:
        raise FileNotFoundError(f"no word list found ({', '.join(map(str, WORD_LISTS))}; "
                                "apt-get install wamerican wbritish wamerican-large)")
    words = set()
    for p in found:
        for line in p.read_text(encoding="utf-8", errors="ignore").splitlines():
            w = line.strip()
            if (MIN_LEN <= len(w) <= MAX_LEN and w.isascii() and w[0] in LETTERS
                    and all(c in LETTERS or c == "'" for c in w)):
                words.add(w)
    return tuple(sorted(words))


def pool(split: str, seed: int = 0) -> Tuple[str, ...]:
    """The listed words whose key belongs to `split`."""
    return _pools(seed)[splits.check(split)]


@functools.lru_cache(maxsize=None)
def _pools(seed: int):
    out = {name: [] for name in splits.SPLITS}
    for w in _pool():
        out[splits.word_split(key(w), seed)].append(w)
    return {name: tuple(ws) for name, ws in out.items()}


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return str(rng.randint(0, 10 ** rng.randint(1, 6)))
    if kind < 0.5:
        return f"{rng.randint(0, 999)}.{rng.randint(0, 99):02d}"
    if kind < 0.65:
        return f"${rng.randint(1, 9999)}" + (f".{rng.randint(0, 99):02d}"
                                              if rng.random() < 0.5 else "")
    if kind < 0.75:
        return f"{rng.randint(1, 100)}%"
    if kind < 0.85:
        return f"{rng.randint(1, 31):02d}/{rng.randint(1, 12):02d}" + (
            f"/{rng.randint(1950, 2030)}" if rng.random() < 0.5 else "")
    if kind < 0.92:
        return f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
    n = rng.randint(1, 99)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n // 10 != 1 else 0, "th")
    return f"{n}{suffix}"


def _decorate(word: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.2:
        word = word[:1].upper() + word[1:]
    elif r < 0.32:
        word = word.upper()
    r = rng.random()
    if r < 0.12:
        word += rng.choice(TRAILING)
    elif r < 0.17:
        left, right = rng.choice(WRAPS)
        word = left + word + right
    return word


def labels(split: str, count: int, seed: int = 0, numbers: float = 0.12) -> List[str]:
    """`count` distinct labels of `split`, the same for a seed: words drawn
    from the split's pool and decorated, a share `numbers` of numeric
    tokens (kept only when their key belongs to the split)."""
    words = pool(split, seed)
    if not words:
        raise ValueError(f"split '{split}' has no words")
    rng = random.Random(f"labels:{seed}:{split}")
    out, seen = [], set()
    while len(out) < count:
        if rng.random() < numbers:
            label = _number(rng)
            if splits.word_split(key(label), seed) != split:
                continue
        else:
            label = _decorate(rng.choice(words), rng)
        if label not in seen:
            seen.add(label)
            out.append(label)
    return out
