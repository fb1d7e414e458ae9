"""Calibration, validation and test splits, disjoint in words and fonts, fixed by a seed.

A word goes to a split by a seeded hash of its key (its letters and digits,
lower case), so "Apple", "APPLE," and "apple" land together and the split
of a word never depends on which other words were drawn. Fonts go by
lineage (smartdeal.data.fonts): the lineages are shuffled by the seed and
dealt out by share. Calibration and validation are what the plan search
may look at; the test split is only reported.
"""

from __future__ import annotations

import hashlib
import random
from typing import Dict, List, Sequence

from . import fonts as fonts_mod

SPLITS = ("calibration", "validation", "test")
# Share of word keys per split (the word lists hold ~200 k keys).
WORD_SHARES = {"calibration": 0.25, "validation": 0.25, "test": 0.5}
# Share of font lineages per split (the test split gets the largest, so its
# accuracy is measured over many designs).
FONT_SHARES = {"calibration": 0.4, "validation": 0.2, "test": 0.4}


def check(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}' (expected {', '.join(SPLITS)})")
    return split


def word_split(key: str, seed: int = 0) -> str:
    """The split that owns the word key `key` under `seed`."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0**64
    acc = 0.0
    for name in SPLITS:
        acc += WORD_SHARES[name]
        if u < acc:
            return name
    return SPLITS[-1]


def font_lineages(lineages: Sequence[str], seed: int = 0) -> Dict[str, List[str]]:
    """split -> lineages: a seeded shuffle dealt out by FONT_SHARES, each
    split getting at least one."""
    names = sorted(set(lineages))
    if len(names) < len(SPLITS):
        raise fonts_mod.FontError(f"{len(names)} font lineages cannot fill "
                                  f"{len(SPLITS)} disjoint splits")
    random.Random(f"fonts:{seed}").shuffle(names)
    out: Dict[str, List[str]] = {}
    start = 0
    for i, name in enumerate(SPLITS):
        rest = len(SPLITS) - i - 1
        take = max(1, round(FONT_SHARES[name] * len(names)))
        take = min(take, len(names) - start - rest) if rest else len(names) - start
        out[name] = sorted(names[start:start + take])
        start += take
    return out


def faces(split: str, seed: int = 0) -> Dict[str, List[fonts_mod.Face]]:
    """lineage -> faces of the installed fonts that belong to `split`."""
    groups = fonts_mod.by_lineage(fonts_mod.faces())
    chosen = font_lineages(list(groups), seed)[check(split)]
    return {name: groups[name] for name in chosen}
