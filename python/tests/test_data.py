#!/usr/bin/env python3
"""Realistic data (smartdeal.data): the resize rule against hand-computed
values, splits disjoint in fonts and words, determinism per seed, labels
within the recognizer's dictionary, the interval, and the clear error when
too few fonts are installed. Run with /usr/bin/python3; seconds."""

import os
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from smartdeal import models  # noqa: E402
from smartdeal.data import fonts, ocr_cls, ocr_det, ocr_rec, splits, stats, text, words  # noqa: E402


class ResizeRuleTest(unittest.TestCase):
    def test_width(self):
        # ceil(48 * 100 / 30) = 160; ceil(48 * 50 / 24) = 100; long crops cap at 320.
        self.assertEqual(text.paddle_width(30, 100, 48, 320), 160)
        self.assertEqual(text.paddle_width(24, 50, 48, 320), 100)
        self.assertEqual(text.paddle_width(7, 10, 48, 320), 69)  # ceil(68.57)
        self.assertEqual(text.paddle_width(10, 100, 48, 320), 320)

    def test_bilinear(self):
        # Two columns 0 and 100 to four: source x = -0.25, 0.25, 0.75, 1.25,
        # clamped to [0, 1] -> 0, 25, 75, 100 (OpenCV's INTER_LINEAR).
        img = np.array([[[0], [100]], [[0], [100]]], np.uint8)
        out = text.resize_bilinear(img, 2, 4)[..., 0]
        np.testing.assert_array_equal(out, [[0, 25, 75, 100]] * 2)

    def test_normalize_bgr_pad(self):
        crop = np.zeros((10, 20, 3), np.uint8)
        crop[...] = (255, 0, 51)  # RGB
        x = text.paddle_input(crop, 48, 320)
        self.assertEqual(x.shape, (1, 3, 48, 320))
        self.assertEqual(x.dtype, np.float32)
        w = 96  # ceil(48 * 20 / 10)
        np.testing.assert_allclose(x[0, 0, :, :w], -0.6, atol=1e-6)  # B = 51
        np.testing.assert_allclose(x[0, 1, :, :w], -1.0)  # G = 0
        np.testing.assert_allclose(x[0, 2, :, :w], 1.0)  # R = 255
        self.assertTrue((x[0, :, :, w:] == 0).all())


class StatsTest(unittest.TestCase):
    def test_wilson(self):
        # 90 of 100: centre (0.9 + 1.96^2/200) / (1 + 1.96^2/100) = 0.8852,
        # half-width 1.96 sqrt(0.0009 + 1.96^2/40000) / 1.0384 = 0.0596.
        low, high = stats.wilson(90, 100)
        self.assertAlmostEqual(low, 0.8256, places=4)
        self.assertAlmostEqual(high, 0.9448, places=4)
        low, high = stats.wilson(0, 50)
        self.assertEqual(low, 0.0)
        self.assertAlmostEqual(high, 0.0713, places=4)  # (z²/n) / (1 + z²/n)
        self.assertEqual(str(stats.Accuracy(90, 100)), "90.0% [82.6%, 94.5%] (n = 100)")


class SplitTest(unittest.TestCase):
    def test_fonts_disjoint(self):
        lineages = sorted(fonts.by_lineage(fonts.faces()))
        for seed in (0, 1):
            parts = splits.font_lineages(lineages, seed)
            seen = [set(parts[s]) for s in splits.SPLITS]
            self.assertEqual(set.union(*seen), set(lineages))
            self.assertEqual(sum(map(len, seen)), len(lineages))
            paths = [{f.path for fs in splits.faces(s, seed).values() for f in fs}
                     for s in splits.SPLITS]
            self.assertFalse(paths[2] & (paths[0] | paths[1]))
            self.assertFalse(paths[0] & paths[1])
        self.assertNotEqual(splits.font_lineages(lineages, 0),
                            splits.font_lineages(lineages, 1))

    def test_clones_share_a_lineage(self):
        self.assertEqual(fonts.lineage_of("Liberation Sans"), fonts.lineage_of("Arimo"))
        self.assertEqual(fonts.lineage_of("TeX Gyre Heros"), fonts.lineage_of("FreeSans"))
        self.assertEqual(fonts.lineage_of("Carlito"), fonts.lineage_of("Lato"))

    def test_words_disjoint(self):
        keys = {}
        for s in splits.SPLITS:
            ls = words.labels(s, 400, seed=0)
            self.assertEqual(len(set(ls)), 400)
            self.assertTrue(all(c in words.LABEL_CHARS for l in ls for c in l))
            self.assertTrue(all(splits.word_split(words.key(l), 0) == s for l in ls))
            keys[s] = {words.key(l) for l in ls}
        self.assertFalse(keys["test"] & (keys["calibration"] | keys["validation"]))
        self.assertFalse(keys["calibration"] & keys["validation"])
        pools = [{words.key(w) for w in words.pool(s)} for s in splits.SPLITS]
        self.assertFalse(pools[2] & (pools[0] | pools[1]))
        # Case variants, numbers and punctuation all occur.
        ls = words.labels("test", 400, seed=0)
        self.assertTrue(any(l.isupper() for l in ls))
        self.assertTrue(any(any(c.isdigit() for c in l) for l in ls))
        self.assertTrue(any(l[-1] in words.TRAILING for l in ls))

    def test_unknown_split(self):
        with self.assertRaisesRegex(ValueError, "unknown split 'train'"):
            words.labels("train", 3)

    def test_labels_in_dictionary(self):
        path = models.MODELS["ocr-rec"].path
        if not path.exists():
            self.skipTest("ocr-rec not cached")
        chars = set(ocr_rec.dictionary(path))
        self.assertTrue(set(words.LABEL_CHARS) <= chars)


class SampleTest(unittest.TestCase):
    def test_deterministic(self):
        a = ocr_rec.samples("validation", 3, seed=0)
        b = ocr_rec.samples("validation", 3, seed=0)
        c = ocr_rec.samples("validation", 3, seed=1)
        for u, v in zip(a, b):
            self.assertEqual((u.label, u.face, u.style), (v.label, v.face, v.style))
            np.testing.assert_array_equal(u.x, v.x)
        self.assertNotEqual([s.label for s in a], [s.label for s in c])
        for s in a:
            self.assertEqual(s.x.shape, (1, 3, 48, 320))
            self.assertLessEqual(s.x.max(), 1.0)
            self.assertGreaterEqual(s.x.min(), -1.0)
        test_faces = {f.path for fs in splits.faces("test").values() for f in fs}
        self.assertFalse({s.face for s in a} & test_faces)

    def test_orientation(self):
        s = ocr_cls.samples("calibration", 8, seed=0)
        self.assertEqual({x.label for x in s}, {"0", "180"})
        for i, x in enumerate(s):
            self.assertEqual(x.x.shape, (1, 3, 48, 192))
            self.assertEqual(x.label, ocr_cls.CLASSES[ocr_cls.orientation(0, "calibration", i)])


class DetectorTest(unittest.TestCase):
    def test_normalize(self):
        # One RGB pixel (255, 0, 51): B = 0.2 -> (0.2 - 0.485) / 0.229, G = 0
        # -> -0.456 / 0.224, R = 1 -> (1 - 0.406) / 0.225 (BGR image, mean
        # and std applied in their listed order, as PaddleOCR does).
        x = ocr_det.normalize(np.array([[[255, 0, 51]]], np.uint8))
        self.assertEqual(x.shape, (1, 3, 1, 1))
        np.testing.assert_allclose(x.reshape(3), [(0.2 - 0.485) / 0.229, -0.456 / 0.224,
                                                  (1 - 0.406) / 0.225], rtol=1e-6)

    def test_region_iou(self):
        a = np.zeros((4, 4))
        b = np.zeros((4, 4))
        a[0, :2] = 0.9  # 2 pixels
        b[0, 1:4] = 0.5  # 3 pixels, 1 shared
        self.assertAlmostEqual(ocr_det.region_iou(a, b), 1 / 4)
        self.assertEqual(ocr_det.region_iou(np.zeros(3), np.full(3, 0.3)), 1.0)

    def test_page(self):
        p = ocr_det.page("validation", 0)
        q = ocr_det.page("validation", 0)
        self.assertEqual(p.x.shape, (1, 3, 640, 640))
        np.testing.assert_array_equal(p.x, q.x)
        self.assertGreaterEqual(len(p.boxes), 1)
        for x0, y0, x1, y1 in p.boxes:
            self.assertTrue(0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 640)


class TooFewFontsTest(unittest.TestCase):
    def test_error(self):
        code = ("from smartdeal.data import fonts\n"
                "fonts.faces()\n")
        env = dict(os.environ, SD_FONT_DIRS="/usr/share/fonts/truetype/dejavu",
                   PYTHONPATH=str(HERE.parent))
        proc = subprocess.run([sys.executable, "-c", code], env=env,
                              capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertRegex(proc.stderr, r"FontError: only \d+ usable font faces under "
                         r"/usr/share/fonts/truetype/dejavu; the realistic data needs "
                         r"at least 40 \(run scripts/install-deps.sh")


if __name__ == "__main__":
    unittest.main()
