"""Pages of realistic text for the PaddleOCR text detector, and region agreement.

A page is a 640 x 640 background (a tinted paper colour, a brightness
gradient, sensor noise) with three to eight text lines of a split's words,
each rendered and degraded like the recognizer's samples
(smartdeal.data.text) and pasted where it does not overlap another. The
detector's input follows PaddleOCR's NormalizeImage on an OpenCV (BGR)
image: x/255 minus the ImageNet mean, over the ImageNet standard deviation,
channel for channel in the listed order, then CHW. The detector outputs a
text probability map; PaddleOCR's DB post-processing thresholds it at 0.3,
so two detectors agree on the text regions as much as those thresholded
maps overlap (intersection over union).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from . import splits, text, words
from .ocr_rec import seed_of

SIZE = 640
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
THRESHOLD = 0.3  # PaddleOCR's DB binarization threshold


@dataclass(frozen=True)
class Page:
    boxes: Tuple[Tuple[int, int, int, int], ...]  # x0, y0, x1, y1 of each line
    x: np.ndarray  # [1, 3, SIZE, SIZE] float32


def normalize(rgb: np.ndarray) -> np.ndarray:
    """PaddleOCR's detector input for an RGB uint8 page: [1, 3, H, W]."""
    bgr = rgb[:, :, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(((bgr - MEAN) / STD).transpose(2, 0, 1)[None])


def page(split: str, index: int, seed: int = 0) -> Page:
    rng = random.Random(seed_of("det", seed, split, index))
    groups = splits.faces(split, seed)
    lineages = sorted(groups)
    base = rng.randint(170, 255)
    paper = np.array([min(255, max(0, base + rng.randint(-25, 25))) for _ in range(3)],
                     np.float32)
    canvas = np.tile(paper, (SIZE, SIZE, 1))
    # Page i takes labels 8i..8i+7 of the split's list (one list per seed,
    # so the split's words stay its own).
    labels = words.labels(split, 8 * (index + 1), seed)[8 * index:]
    boxes: List[Tuple[int, int, int, int]] = []
    for k in range(rng.randint(3, 8)):
        line = " ".join(labels[k:k + rng.randint(1, 3)])
        faces = groups[rng.choice(lineages)]
        face = faces[rng.randrange(len(faces))]
        style = text.draw_style(rng)
        style = text.Style(**{**style.__dict__, "size": rng.randint(14, 44),
                              "bg": tuple(int(v) for v in paper), "gradient": 0.0,
                              "noise": 0.0, "jpeg": 0})
        crop = text.render(line, face.path, style)
        h, w = crop.shape[:2]
        if h >= SIZE or w >= SIZE:
            continue
        for _ in range(30):
            x0, y0 = rng.randint(0, SIZE - w), rng.randint(0, SIZE - h)
            box = (x0, y0, x0 + w, y0 + h)
            if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1]
                   for b in boxes):
                canvas[y0:y0 + h, x0:x0 + w] = crop
                boxes.append(box)
                break
    canvas += (rng.uniform(-30, 30) * np.linspace(-1, 1, SIZE))[:, None, None]
    canvas += np.random.default_rng(seed_of("det-noise", seed, split, index) % 2**32).normal(
        0, rng.uniform(0, 8), canvas.shape)
    rgb = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return Page(tuple(boxes), normalize(rgb))


def pages(split: str, count: int, seed: int = 0) -> List[Page]:
    return [page(split, i, seed) for i in range(count)]


def inputs(split: str, count: int, seed: int = 0) -> List[np.ndarray]:
    return [p.x for p in pages(split, count, seed)]


def region_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two probability maps thresholded at 0.3
    (1.0 when neither finds text)."""
    ma, mb = np.asarray(a) > THRESHOLD, np.asarray(b) > THRESHOLD
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 1.0
