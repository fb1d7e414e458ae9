#!/usr/bin/env python3
"""The recognizer's search metric: exact-match word accuracy on the
validation split, checked against the node-by-node reference executor on
the same words, and a model whose classifier is zeroed reads nothing.
Needs the ocr-rec model (scripts/fetch-models.sh); seconds."""

import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from smartdeal import models  # noqa: E402
from smartdeal.cli import fidelity  # noqa: E402
from smartdeal.data import ocr_rec  # noqa: E402
from smartdeal.importers.onnx_reference import OnnxReference  # noqa: E402
from smartdeal.plan.graph import weight_layers  # noqa: E402
from smartdeal.runtime.compressed import CompressedLayer  # noqa: E402
from smartdeal.runtime.source_export import replace_weights  # noqa: E402


class WordMetricTest(unittest.TestCase):
    def test_validation_word_accuracy(self):
        real = models.MODELS["ocr-rec"]
        count = 12
        model, metric = fidelity.search_metric(real.path, real, count)
        # Independent: the reference executor reads the same validation words.
        sample = ocr_rec.samples("validation", count)
        test_words = {s.label for s in ocr_rec.samples("test", 50)}
        self.assertFalse(test_words & {s.label for s in sample})
        ref = OnnxReference(model)
        name = ref.input_names[0]
        chars = ocr_rec.dictionary(real.path)
        read = [ocr_rec.decode(np.asarray(ref.run({name: s.x})[0]).reshape(-1, len(chars)),
                               chars).strip() for s in sample]
        want = sum(r == s.label for r, s in zip(read, sample)) / count
        self.assertGreater(want, 0.3)  # the words are readable
        self.assertAlmostEqual(metric(model), want, places=9)
        # Zero the last weight layer (the classifier): every frame gets the
        # same class, so no word is read.
        node, weight, shape = list(weight_layers(model))[-1]
        self.assertEqual(node.op_type, "MatMul")
        broken = type(model)()
        broken.CopyFrom(model)
        replace_weights(broken, [CompressedLayer(node.name, list(weight.shape),
                                                 np.zeros(weight.shape, np.float32), 0, 0)])
        self.assertEqual(metric(broken), 0.0)


if __name__ == "__main__":
    unittest.main()
