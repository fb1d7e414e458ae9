"""Tests of smartdeal.training (form-keeping SE / PermDNN layers, export to sd IR).

    PYTHONPATH=python /usr/bin/python3 python/tests/test_training.py

Needs build/bin/sd-decompose-ref-driver, build/bin/sd-opt and
mlir-runner (the export round trip). Prints 'N passed, M failed'.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from smartdeal.training import (BucketSwitch, PermDiagLinear, SEConv2d, SELinear,  # noqa: E402
                                block_layout, codes_to_values, convert_model, export_mlir,
                                finetune, pow2, pow2_ste, run_exported, values_to_codes)


class Pow2Test(unittest.TestCase):
    def test_exact_cases(self):
        lo, hi = -8, 5
        cases = {
            1.0: 1.0, 1.5: 1.0, 1.5000001: 2.0, 0.75: 0.5, 0.7500001: 1.0, 3.0: 2.0,
            -3.0: -2.0, -1.4: -1.0, 5.0: 4.0, 6.0: 4.0, 6.01: 8.0,
            2.0 ** 5: 32.0, 100.0: 32.0, -1e9: -32.0,            # clipped to 2^hi
            2.0 ** -8: 2.0 ** -8, 0.76 * 2.0 ** -8: 2.0 ** -8,   # rounds up into range
            0.75 * 2.0 ** -8: 0.0, 2.0 ** -9: 0.0, -1e-20: 0.0,  # rounds below 2^lo -> 0
            0.0: 0.0,
        }
        v = torch.tensor(list(cases.keys()), dtype=torch.float32)
        want = torch.tensor(list(cases.values()), dtype=torch.float32)
        got = pow2(v, lo, hi)
        # 1.5000001 and 0.7500001 are the f32 values one ulp above the ties.
        for a, g, w in zip(v.tolist(), got.tolist(), want.tolist()):
            self.assertEqual(g, w, f"pow2({a!r})")

    def test_matches_cpp_quantizer(self):
        # The same rule as the C++ quantizer (driver quantize mode) on random values.
        from smartdeal.training.decompose import find_driver
        import subprocess
        import tempfile
        rng = np.random.default_rng(0)
        v = (rng.standard_normal(2000) * np.exp2(rng.integers(-12, 8, 2000))).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "v.npy"), v)
            subprocess.run([find_driver(), "quantize", "--input", os.path.join(tmp, "v.npy"),
                            "--out", tmp, "--min-exp", "-8", "--max-exp", "5"], check=True)
            q = np.load(os.path.join(tmp, "q.npy"))
            codes = np.load(os.path.join(tmp, "codes.npy"))
        got = pow2(torch.tensor(v), -8, 5).numpy()
        np.testing.assert_array_equal(got, q.astype(np.float32))
        np.testing.assert_array_equal(values_to_codes(got, -8), codes)
        np.testing.assert_array_equal(codes_to_values(codes, -8), q)

    def test_ste_gradient_is_identity(self):
        v = torch.tensor([0.3, -7.0, 100.0, 1e-5, 0.0], requires_grad=True)
        g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
        pow2_ste(v, -8, 5).backward(g)
        self.assertTrue(torch.equal(v.grad, g))


class SELayerTest(unittest.TestCase):
    def test_layout(self):
        self.assertEqual(block_layout((512, 512)), (512, 1, 171))
        self.assertEqual(block_layout((10, 4096)), (4096, 8, 171))
        self.assertEqual(block_layout((4, 5)), (5, 1, 2))
        self.assertEqual(block_layout((8, 16, 3, 3)), (144, 1, 48))

    def _exact_linear(self, o=6, k=20, lo=-8, hi=5, seed=0):
        """A weight that is exactly Ce * B with power-of-two Ce and a well-conditioned B."""
        rng = np.random.default_rng(seed)
        _, nb, rows = block_layout((o, k))
        codes = rng.integers(-(hi - lo + 1), hi - lo + 2, size=(o, nb, rows, 3)).astype(np.int8)
        flat = codes.reshape(o, -1)
        flat[:, k:] = 0
        basis = (np.eye(3)[None, None] * np.exp2(rng.integers(-1, 2, (o, nb, 1, 3)))).astype(np.float32)
        layer = SELinear(k, o, exponents=(lo, hi), codes=codes, basis=basis)
        return layer, codes, basis

    def test_from_dense_reproduces_exact_weight(self):
        # Integer-valued power-of-two Ce with identity bases: W's entries are
        # exactly representable; the decomposition must give them back.
        rng = np.random.default_rng(1)
        o, k = 8, 30
        w = (np.sign(rng.standard_normal((o, k))) * np.exp2(rng.integers(-3, 3, (o, k))))
        dense = nn.Linear(k, o)
        with torch.no_grad():
            dense.weight.copy_(torch.tensor(w, dtype=torch.float32))
        se = SELinear.from_dense(dense, threshold=1e-3, exponents=(-8, 5))
        torch.testing.assert_close(se.weight(), dense.weight, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(se.bias, dense.bias)
        x = torch.randn(4, k)
        torch.testing.assert_close(se(x), dense(x), rtol=1e-5, atol=1e-5)

    def test_from_dense_conv_matches_driver_codes(self):
        from smartdeal.runtime.compressed import rebuild
        from smartdeal.training.decompose import decompose_weight
        torch.manual_seed(0)
        for conv in (nn.Conv2d(3, 5, 3, padding=1), nn.Conv2d(7, 4, 1)):
            se = SEConv2d.from_dense(conv, 1e-3, (-8, 5))
            codes, basis, _ = decompose_weight(conv.weight.detach().numpy(), 1e-3, (-8, 5))
            np.testing.assert_array_equal(se.codes(), codes)
            want = rebuild(codes, basis, list(conv.weight.shape), -8)
            np.testing.assert_allclose(se.weight().detach().numpy(), want, rtol=1e-5, atol=1e-6)
            x = torch.randn(2, conv.in_channels, 6, 6)
            self.assertEqual(se(x).shape, conv(x).shape)

    def test_codes_round_trip(self):
        layer, codes, basis = self._exact_linear()
        np.testing.assert_array_equal(layer.codes(), codes)

    def test_mask_keeps_zeros_through_training(self):
        torch.manual_seed(0)
        layer, codes, _ = self._exact_linear(o=5, k=16)
        zero = codes == 0
        self.assertTrue(zero.any())
        opt = torch.optim.Adam(layer.parameters(), lr=0.5)  # large steps move every latent
        for _ in range(20):
            opt.zero_grad()
            loss = (layer(torch.randn(8, 16)) - torch.randn(8, 5)).pow(2).sum()
            loss.backward()
            self.assertTrue(torch.all(layer.ce.grad[torch.tensor(zero)] == 0))
            opt.step()
        now = layer.codes()
        self.assertTrue(np.all(now[zero] == 0))
        self.assertFalse(np.array_equal(now, codes), "Ce did not move at all")
        # Codes stay inside the exponent range.
        self.assertLessEqual(np.abs(now).max(), layer.hi - layer.lo + 1)

    def test_bucket_switch(self):
        torch.manual_seed(0)
        layer, codes, _ = self._exact_linear(o=4, k=12)
        zero = codes == 0
        bs = BucketSwitch(layer, bar=2)
        before = layer.ce.detach().clone()
        # A gradient of +1 everywhere: every masked-in entry wants to decrease.
        layer.ce.grad = torch.ones_like(layer.ce)
        self.assertEqual(bs.step(), 0)
        n = bs.step()
        self.assertEqual(n, int(layer.mask.sum()))
        after = layer.ce.detach()
        m = layer.mask.bool()
        pos, neg = m & (before > 0), m & (before < 0)
        lowest = 2.0 ** layer.lo
        want_pos = torch.where(before[pos] / 2 < lowest, torch.zeros_like(before[pos]), before[pos] / 2)
        torch.testing.assert_close(after[pos], want_pos)
        torch.testing.assert_close(after[neg], torch.clamp(before[neg] * 2, min=-2.0 ** layer.hi))
        self.assertTrue(torch.all(after[torch.tensor(zero)] == 0))
        # Ce stays exact powers of two / zero.
        torch.testing.assert_close(pow2(after, layer.lo, layer.hi), after)


class PermDiagTest(unittest.TestCase):
    def test_structure_and_projection(self):
        torch.manual_seed(0)
        dense = nn.Linear(10, 7)
        pd = PermDiagLinear.from_dense(dense, 4)
        w = pd.weight().detach().numpy()
        d = dense.weight.detach().numpy()
        self.assertEqual(w.shape, (7, 10))
        # Every kept entry is the dense entry; the chosen offset maximizes energy per block.
        for i in range(pd.rb):
            for j in range(pd.cb):
                blk = np.zeros((4, 4))
                sub = d[i * 4:(i + 1) * 4, j * 4:(j + 1) * 4]
                blk[: sub.shape[0], : sub.shape[1]] = sub
                e = [sum(blk[c, (c + k) % 4] ** 2 for c in range(4)) for k in range(4)]
                self.assertEqual(int(pd.offsets[i, j]), int(np.argmax(e)))
                for c in range(4):
                    r, col = i * 4 + c, j * 4 + (c + int(pd.offsets[i, j])) % 4
                    if r < 7 and col < 10:
                        self.assertEqual(w[r, col], d[r, col])
        # One non-zero per row and column of every full block.
        self.assertEqual(int((w[:4, :8] != 0).sum()), 8)

    def test_gradient_only_on_stored_values(self):
        torch.manual_seed(0)
        pd = PermDiagLinear(12, 8, 4)
        params = dict(pd.named_parameters())
        self.assertEqual(set(params), {"values", "bias"})
        self.assertNotIn("offsets", params)
        offsets = pd.offsets.clone()
        w = pd.weight()
        w.retain_grad()
        torch.nn.functional.linear(torch.randn(5, 12), w, pd.bias).pow(2).sum().backward()
        self.assertEqual(pd.values.grad.shape, (2, 3, 4))
        # The dense-weight gradient is dense, but only the stored positions reach a parameter:
        # one SGD step keeps the permuted-diagonal pattern.
        opt = torch.optim.SGD(pd.parameters(), lr=0.1)
        pattern = pd.weight().detach() != 0
        opt.step()
        self.assertTrue(torch.equal(pd.offsets, offsets))
        self.assertTrue(torch.all(pd.weight().detach()[~pattern] == 0))
        # values.grad equals the dense gradient gathered at the stored positions.
        cols = (torch.arange(4)[None, None] + offsets[:, :, None]) % 4
        g = w.grad.reshape(2, 4, 3, 4).permute(0, 2, 1, 3)
        gathered = torch.gather(g, 3, cols[..., None])[..., 0]
        torch.testing.assert_close(pd.values.grad, gathered)


class ExportTest(unittest.TestCase):
    def test_round_trip_both_kinds(self):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 3 * 3, 12), nn.ReLU(),
            nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 5))
        convert_model(model, "se", select=lambda name, m: name in ("0", "2", "6"))
        model[8] = PermDiagLinear.from_dense(model[8], 4)   # 8 x 12, p = 4
        self.assertIsInstance(model[0], SEConv2d)
        self.assertIsInstance(model[6], SELinear)
        # A few training steps first: the export must carry the trained Ce / B / values.
        xs, ys = torch.randn(32, 1, 6, 6), torch.randint(0, 5, (32,))
        finetune(model, [(xs[:16], ys[:16]), (xs[16:], ys[16:])], epochs=2, lr=1e-2)
        x = torch.randn(3, 1, 6, 6)
        text = export_mlir(model, x)
        self.assertIn("sd.se_constant", text)
        self.assertIn("sd.shift_add_conv2d", text)
        self.assertIn("sd.shift_add_matmul", text)
        self.assertIn("sd.permdiag_matmul", text)
        got = run_exported(text, x)
        with torch.no_grad():
            want = model(x).numpy()
        rel = np.abs(got - want).max() / np.abs(want).max()
        self.assertLess(rel, 1e-4)


if __name__ == "__main__":
    torch.set_num_threads(2)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
