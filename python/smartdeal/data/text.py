"""A text line as a camera or scanner delivers it, and PaddleOCR's input rule.

`render` draws a label in one font face with a style drawn from a seeded
generator: font size, text and background colours (some inverted, some low
contrast, some with a gradient), margins (where the text sits in the crop),
a small rotation and shear, blur, sensor noise and JPEG artefacts. The
result is an RGB crop of the size the text needs, as a text detector would
cut it. `paddle_input` then applies PaddleOCR's `resize_norm_img`: keep the
aspect ratio, resize to the model's height with bilinear interpolation (as
OpenCV's INTER_LINEAR), cap the width at the model's, normalize to
(x/255 - 0.5)/0.5 in BGR channel order, and pad on the right with zeros.
"""

from __future__ import annotations

import functools
import io
import math
import random
from dataclasses import dataclass
from typing import Tuple

import numpy as np

RGB = Tuple[int, int, int]


@dataclass(frozen=True)
class Style:
    """Every random choice of one rendering, so a sample can be redrawn."""

    size: int
    fg: RGB
    bg: RGB
    gradient: float  # brightness change across the crop, -1..1 of 40 levels
    margins: Tuple[float, float, float, float]  # left, top, right, bottom / size
    angle: float  # degrees, counter-clockwise
    shear: float  # x shift per unit of height
    blur: float  # Gaussian radius in pixels (0: none)
    noise: float  # standard deviation in 8-bit levels (0: none)
    jpeg: int  # JPEG quality (0: no compression)


CLEAN = Style(28, (0, 0, 0), (255, 255, 255), 0.0, (0.2, 0.25, 0.2, 0.25),
              0.0, 0.0, 0.0, 0.0, 0)


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def draw_style(rng: random.Random) -> Style:
    """One random style: the ranges are those of printed and photographed
    text that a detector crops (sizes 9 to 36 px, log-uniform)."""
    size = int(round(math.exp(rng.uniform(math.log(9), math.log(36)))))
    if rng.random() < 0.7:  # light paper, slightly tinted
        base = rng.randint(190, 255)
        bg = tuple(min(255, max(0, base + rng.randint(-20, 20))) for _ in range(3))
    else:
        bg = tuple(rng.randint(0, 255) for _ in range(3))
    # Text contrast: mostly strong, a tenth of the crops faint.
    need = rng.uniform(60, 90) if rng.random() < 0.1 else rng.uniform(90, 255)
    fg = bg
    for _ in range(100):
        fg = tuple(rng.randint(0, 255) for _ in range(3))
        if abs(_luma(fg) - _luma(bg)) >= min(need, max(_luma(bg), 255 - _luma(bg)) - 5):
            break
    margins = (rng.uniform(0.0, 0.6), rng.uniform(0.0, 0.4),
               rng.uniform(0.0, 0.6), rng.uniform(0.0, 0.4))
    return Style(
        size=size, fg=fg, bg=bg,
        gradient=rng.uniform(-1, 1) if rng.random() < 0.3 else 0.0,
        margins=margins,
        angle=rng.uniform(-3, 3) if rng.random() < 0.5 else 0.0,
        shear=rng.uniform(-0.25, 0.25) if rng.random() < 0.3 else 0.0,
        blur=rng.uniform(0.3, 1.2) * max(size, 12) / 24 if rng.random() < 0.4 else 0.0,
        noise=rng.uniform(2, 14) if rng.random() < 0.5 else 0.0,
        jpeg=rng.randint(25, 90) if rng.random() < 0.5 else 0)


@functools.lru_cache(maxsize=512)
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def render(text: str, font_path: str, style: Style, seed: int = 0) -> np.ndarray:
    """`text` in the face at `font_path`, styled: an RGB uint8 [H, W, 3] crop.
    `seed` draws the noise."""
    from PIL import Image, ImageDraw, ImageFilter

    font = _font(font_path, style.size)
    left, _, right, _ = font.getbbox(text)
    ascent, descent = font.getmetrics()
    ml, mt, mr, mb = (int(round(m * style.size)) for m in style.margins)
    width = max(1, right - left) + ml + mr
    height = ascent + descent + mt + mb
    image = Image.new("RGB", (width, height), style.bg)
    ImageDraw.Draw(image).text((ml - left, mt), text, fill=style.fg, font=font)
    if style.shear:
        extra = int(math.ceil(abs(style.shear) * height))
        offset = -extra if style.shear > 0 else 0
        image = image.transform((width + extra, height), Image.AFFINE,
                                (1, style.shear, offset, 0, 1, 0),
                                resample=Image.BICUBIC, fillcolor=style.bg)
    if style.angle:
        image = image.rotate(style.angle, resample=Image.BICUBIC, expand=True,
                             fillcolor=style.bg)
    if style.blur:
        image = image.filter(ImageFilter.GaussianBlur(style.blur))
    x = np.asarray(image, np.float32)
    if style.gradient:
        x = x + (style.gradient * 40 * np.linspace(-1, 1, x.shape[1]))[None, :, None]
    if style.noise:
        x = x + np.random.default_rng(seed).normal(0, style.noise, x.shape)
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if style.jpeg:
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, format="JPEG", quality=style.jpeg)
        x = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return x


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """[H, W, C] -> [height, width, C] float32, bilinear with pixel centres
    aligned and no anti-aliasing (OpenCV's INTER_LINEAR)."""
    def axis(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0).astype(np.float32)

    x = image.astype(np.float32)
    y0, y1, fy = axis(x.shape[0], height)
    x0, x1, fx = axis(x.shape[1], width)
    rows = x[y0] * (1 - fy)[:, None, None] + x[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]


def paddle_width(h: int, w: int, height: int, width: int) -> int:
    """PaddleOCR's resized width: ceil(height * w / h), at most `width`."""
    return min(width, int(math.ceil(height * w / float(h))))


def paddle_input(rgb: np.ndarray, height: int = 48, width: int = 320) -> np.ndarray:
    """PaddleOCR's `resize_norm_img` on an RGB uint8 crop: [1, 3, height, width]
    float32, BGR, (x/255 - 0.5)/0.5, zeros to the right of the text (zero
    after normalization: mid grey)."""
    h, w = rgb.shape[:2]
    resized_w = paddle_width(h, w, height, width)
    bgr = rgb[:, :, ::-1]
    # OpenCV resizes uint8 to uint8: the interpolated values are rounded.
    resized = np.clip(np.rint(resize_bilinear(bgr, height, resized_w)), 0, 255)
    out = np.zeros((3, height, width), np.float32)
    out[:, :, :resized_w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out[None]
