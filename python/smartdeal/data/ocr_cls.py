"""Labelled inputs and accuracy for the PaddleOCR text orientation classifier.

A sample is a text line of one to four words of a split (smartdeal.data.words),
rendered like the recognizer's samples (smartdeal.data.ocr_rec.draw) and
turned by 180 degrees for half of the samples, brought to the classifier's
[1, 3, 48, 192] input by PaddleOCR's resize rule. The classifier outputs the
probabilities of its two classes, '0' and '180'; accuracy is the share of
lines whose most probable class is the true orientation.
"""

from __future__ import annotations

import random
from typing import Callable, List, Sequence

import numpy as np

from . import words
from .ocr_rec import Sample, seed_of, draw
from .stats import Accuracy

HEIGHT, WIDTH = 48, 192
CLASSES = ("0", "180")


def lines(split: str, count: int, seed: int = 0) -> List[str]:
    """`count` text lines of one to four labels of `split`."""
    rng = random.Random(f"cls-lines:{seed}:{split}")
    sizes = [rng.randint(1, 4) for _ in range(count)]
    pool = words.labels(split, sum(sizes), seed)
    out, start = [], 0
    for n in sizes:
        out.append(" ".join(pool[start:start + n]))
        start += n
    return out


def orientation(seed: int, split: str, i: int) -> int:
    """Class index of sample i: 0 (upright) or 1 (turned by 180 degrees)."""
    return seed_of("cls-turn", seed, split, i) % 2


def samples(split: str, count: int, seed: int = 0) -> List[Sample]:
    """`count` classifier inputs of `split`; a sample's label is its class
    name ('0' or '180')."""
    def turn(i, rgb):
        return np.ascontiguousarray(rgb[::-1, ::-1]) if orientation(seed, split, i) else rgb

    drawn = draw(lines(split, count, seed), split, seed, "cls", HEIGHT, WIDTH, rotate=turn)
    return [Sample(CLASSES[orientation(seed, split, i)], s.face, s.style, s.x)
            for i, s in enumerate(drawn)]


def inputs(split: str, count: int, seed: int = 0) -> List[np.ndarray]:
    return [s.x for s in samples(split, count, seed)]


def accuracy(run: Callable[[np.ndarray], np.ndarray], sample: Sequence[Sample]) -> Accuracy:
    """Share of `sample` whose most probable class (`run`: input -> [1, 2])
    is the true orientation, with its interval."""
    hits = sum(CLASSES[int(np.asarray(run(s.x)).reshape(-1).argmax())] == s.label
               for s in sample)
    return Accuracy(hits, len(sample))
