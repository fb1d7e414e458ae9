"""Labelled inputs and word accuracy for the PaddleOCR text recognizer.

A sample is a label of a split (smartdeal.data.words) rendered in a face of
the same split's font lineages (one lineage drawn uniformly, then one of its
faces) with a random style (smartdeal.data.text), brought to the
recognizer's [1, 3, 48, 320] input by PaddleOCR's resize rule. Everything is
drawn from (seed, split, index), so a set is the same on every machine with
the same fonts and word lists. The recognizer outputs per-column class
probabilities over its dictionary (ppocr_keys_v1.txt, the CTC blank first
and a space last); greedy CTC decoding collapses repeats and drops blanks.
Word accuracy is exact match after stripping surrounding spaces.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Sequence

import numpy as np

from . import splits, text, words
from .stats import Accuracy

HEIGHT, WIDTH = 48, 320
CLEAN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class Sample:
    label: str
    face: str  # font file
    style: text.Style
    x: np.ndarray  # [1, 3, HEIGHT, WIDTH] float32


def seed_of(*parts) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(),
                                          digest_size=8).digest(), "big")


def draw(labels: Sequence[str], split: str, seed: int, kind: str, height: int,
         width: int, rotate=None) -> List[Sample]:
    """Renders `labels` in `split`'s faces: sample i uses the generator
    (kind, seed, split, i); `rotate(i, rgb)` may turn the crop before the
    resize rule (the orientation classifier's 180 degrees)."""
    groups = splits.faces(split, seed)
    lineages = sorted(groups)
    out = []
    for i, label in enumerate(labels):
        rng = random.Random(seed_of(kind, seed, split, i))
        faces = groups[rng.choice(lineages)]
        face = faces[rng.randrange(len(faces))]
        style = text.draw_style(rng)
        rgb = text.render(label, face.path, style, seed=seed_of(kind, "noise", seed, split, i))
        if rotate is not None:
            rgb = rotate(i, rgb)
        out.append(Sample(label, face.path, style, text.paddle_input(rgb, height, width)))
    return out


def samples(split: str, count: int, seed: int = 0) -> List[Sample]:
    """`count` labelled recognizer inputs of `split` (distinct labels)."""
    return draw(words.labels(split, count, seed), split, seed, "rec", HEIGHT, WIDTH)


def inputs(split: str, count: int, seed: int = 0) -> List[np.ndarray]:
    return [s.x for s in samples(split, count, seed)]


def render_clean(word: str) -> np.ndarray:
    """One word in DejaVu Sans, black on white, through the same resize rule:
    a fixed, easy input for tests that need any realistic line."""
    return text.paddle_input(text.render(word, CLEAN_FONT, text.CLEAN), HEIGHT, WIDTH)


def dictionary(model_path: Path) -> List[str]:
    keys = (Path(model_path).parent / "ppocr_keys_v1.txt").read_text(
        encoding="utf-8").split("\n")
    return ["<blank>"] + [k for k in keys if k] + [" "]


def decode(probs: np.ndarray, chars: Sequence[str]) -> str:
    """Greedy CTC decoding of one [T, classes] output."""
    out, prev = [], -1
    for i in probs.argmax(-1):
        if i != prev and i != 0:
            out.append(chars[int(i)])
        prev = i
    return "".join(out)


def reads(run: Callable[[np.ndarray], np.ndarray], model_path: Path,
          sample: Sequence[Sample]) -> List[str]:
    """What `run` (input -> [1, T, classes]) reads on each sample, stripped:
    the dictionary's last class is a space, and a stray leading or trailing
    one flips with any small perturbation without being a misreading."""
    chars = dictionary(model_path)
    return [decode(np.asarray(run(s.x))[0], chars).strip() for s in sample]


def word_accuracy(run: Callable[[np.ndarray], np.ndarray], model_path: Path,
                  sample: Sequence[Sample]) -> Accuracy:
    """Exact-match word accuracy of `run` on `sample`, with its interval."""
    got = reads(run, model_path, sample)
    return Accuracy(sum(g == s.label for g, s in zip(got, sample)), len(sample))
