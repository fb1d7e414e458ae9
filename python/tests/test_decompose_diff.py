#!/usr/bin/env python3
"""Differential test: the C++ decomposition against the NumPy reference.

Runs lib/Compression through tools/sd-decompose-ref-driver/sd-decompose-ref-driver on
random and on correlated (low rank + noise) inputs and checks that it agrees
with python/smartdeal/reference: the same Ce codes (bit for bit), the same
iteration counts and restarts, B within a tight tolerance, the same structured
pruning mask and the same storage numbers.

    /usr/bin/python3 python/tests/test_decompose_diff.py [-v]

The driver is taken from $SD_DECOMPOSE_DRIVER, else from
$SD_BUILD_DIR/bin, else from <repo>/build*/ or ../build*/. A missing
driver is a failure, not a skip: this test exists to run the C++ code.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from smartdeal.reference import smartexchange as se  # noqa: E402

DRIVER_NAME = "sd-decompose-ref-driver"


def find_driver():
    env = os.environ.get("SD_DECOMPOSE_DRIVER")
    if env:
        return env
    builds = []
    if os.environ.get("SD_BUILD_DIR"):
        builds.append(os.environ["SD_BUILD_DIR"])
    builds += sorted(glob.glob(os.path.join(ROOT, "build*")))
    builds += sorted(glob.glob(os.path.join(os.path.dirname(ROOT), "build*")))
    for build in builds:
        path = os.path.join(build, "bin", DRIVER_NAME)
        if os.access(path, os.X_OK):
            return path
    return None


DRIVER = find_driver()

# Keyword names of the reference -> driver flags.
FLAGS = dict(threshold="--threshold", iternum="--iterations", tol="--tol",
             rcond="--rcond", min_exp="--min-exp", max_exp="--max-exp",
             row_factor="--row-factor", decay="--decay",
             max_restarts="--max-restarts", max_block_rows="--max-block-rows",
             fraction="--fraction", group="--group")
SWITCHES = dict(threshold_row="--row-threshold", scale="--scale",
                trace="--trace")


def driver_args(opts):
    args = []
    for key, value in opts.items():
        if key in SWITCHES:
            if value:
                args.append(SWITCHES[key])
        else:
            args += [FLAGS[key], repr(value)]
    return args


def run_driver(mode, inputs, opts, extra=()):
    """Run the driver; returns (output dir, TemporaryDirectory)."""
    tmp = tempfile.TemporaryDirectory(prefix="sd-diff-")
    paths = {}
    for name, array in inputs.items():
        paths[name] = os.path.join(tmp.name, name + ".npy")
        np.save(paths[name], array)
    cmd = [DRIVER, mode, "--input", paths["input"], "--out", tmp.name]
    if "frozen" in paths:
        cmd += ["--frozen", paths["frozen"]]
    cmd += driver_args(opts) + list(extra)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError("driver failed: %s\n%s" % (" ".join(cmd),
                                                         proc.stderr))
    return tmp


def kaiming(rng, shape):
    fan_in = int(np.prod(shape[1:]))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def low_rank_blocks(rng, n, m, rank, noise):
    """Blocks whose 3 columns are nearly dependent (trained-weight-like)."""
    u = rng.normal(size=(n, m, rank))
    v = rng.normal(size=(n, rank, 3))
    a = np.einsum("nmr,nrk->nmk", u, v) / np.sqrt(rank)
    return 0.05 * (a + noise * rng.normal(size=a.shape))


class DiffBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if DRIVER is None:
            raise AssertionError(
                "%s not found: build it (ninja %s) or set "
                "SD_DECOMPOSE_DRIVER" % (DRIVER_NAME, DRIVER_NAME))


def tie_values(rng, n, min_exp=-8, max_exp=5):
    """Values on every rounding edge: 1.5 * 2^k ties, their neighbours, the
    flush tie 0.75 * 2^min_exp, the clip tie 1.5 * 2^max_exp, exact powers."""
    k = rng.integers(min_exp - 2, max_exp + 2, size=n).astype(np.float64)
    base = np.choose(rng.integers(0, 4, size=n),
                     [np.full(n, 1.5), np.full(n, 1.0), np.full(n, 0.75),
                      rng.uniform(1.0, 2.0, size=n)])
    v = base * np.power(2.0, k)
    nudge = rng.integers(-1, 2, size=n)
    v = np.where(nudge < 0, np.nextafter(v, 0), np.where(nudge > 0,
                 np.nextafter(v, np.inf), v))
    return v * np.where(rng.random(n) < 0.5, -1.0, 1.0)


class QuantizeDiff(DiffBase):
    """Q (pow2 with its tie rule, clip, flush) value by value."""

    def test_ties_and_range_edges(self):
        rng = np.random.default_rng(0)
        for min_exp, max_exp in ((-8, 5), (-3, 0), (-12, 7)):
            v = np.concatenate([tie_values(rng, 20000, min_exp, max_exp),
                                [0.0, -0.0, 5e-324, 1e-300, 1e300]])
            tmp = run_driver("quantize", {"input": v},
                             dict(min_exp=min_exp, max_exp=max_exp))
            with tmp:
                q = np.load(os.path.join(tmp.name, "q.npy"))
                codes = np.load(os.path.join(tmp.name, "codes.npy"))
            want = se.quantize(v, min_exp, max_exp)
            np.testing.assert_array_equal(q, want)
            np.testing.assert_array_equal(
                codes, se.codes_from_values(want, min_exp))
            # The ties really are there and went down.
            ties = np.abs(v) == 1.5 * np.power(2.0, np.floor(np.log2(
                np.abs(v) + (v == 0))))
            self.assertGreater(int(ties.sum()), 1000)


class BlockDiff(DiffBase):
    """decomposeBlock against reference.decompose_block, block by block."""

    def compare(self, blocks, frozen=None, **opts):
        blocks = np.asarray(blocks, dtype=np.float64)
        inputs = {"input": blocks}
        if frozen is not None:
            inputs["frozen"] = frozen.astype(np.uint8)
        opts.setdefault("trace", True)
        tmp = run_driver("block", inputs, opts)
        with tmp:
            ce = np.load(os.path.join(tmp.name, "ce.npy"))
            basis = np.load(os.path.join(tmp.name, "basis.npy"))
            info = np.load(os.path.join(tmp.name, "info.npy"))
            thresholds = np.load(os.path.join(tmp.name, "threshold.npy"))
            trace = np.load(os.path.join(tmp.name, "trace.npy"))
        ref_opts = {k: v for k, v in opts.items()}
        for b in range(blocks.shape[0]):
            fz = None if frozen is None else frozen[b].astype(bool)
            ref = se.decompose_block(blocks[b], frozen=fz, **ref_opts)
            where = "block %d of %s" % (b, opts)
            np.testing.assert_array_equal(ce[b], ref["ce"], err_msg=where)
            self.assertEqual(info[b, 0], ref["iterations"], where)
            self.assertEqual(bool(info[b, 1]), ref["converged"], where)
            self.assertEqual(info[b, 2], ref["restarts"], where)
            self.assertEqual(thresholds[b], ref["threshold"], where)
            scale = max(np.abs(ref["basis"]).max(), 1e-300)
            np.testing.assert_allclose(basis[b], ref["basis"], rtol=0,
                                       atol=1e-9 * scale, err_msg=where)
            norm = max(np.linalg.norm(blocks[b]), 1e-300)
            got = trace[b][~np.isnan(trace[b])]
            self.assertEqual(len(got), len(ref["trace"]), where)
            np.testing.assert_allclose(got / norm,
                                       np.array(ref["trace"]) / norm,
                                       rtol=0, atol=1e-10, err_msg=where)

    def test_random_blocks(self):
        rng = np.random.default_rng(1)
        self.compare(kaiming(rng, (40, 192, 3)) * 0.3)

    def test_blocks_made_of_ties(self):
        # The first rounding sees A itself, so ties are hit exactly there.
        rng = np.random.default_rng(10)
        blocks = tie_values(rng, 10 * 192 * 3, -8, 5).reshape(10, 192, 3) / 8
        self.compare(blocks, iternum=1)
        self.compare(blocks)

    def test_random_block_sizes(self):
        rng = np.random.default_rng(2)
        for m in (171, 64, 22, 9, 4, 3, 2, 1):
            self.compare(rng.normal(0, 0.05, size=(6, m, 3)))

    def test_correlated_blocks(self):
        rng = np.random.default_rng(3)
        for rank, noise in ((1, 0.01), (2, 0.01), (1, 0.1), (2, 0.001)):
            self.compare(low_rank_blocks(rng, 15, 192, rank, noise))

    def test_training_threshold(self):
        rng = np.random.default_rng(4)
        self.compare(kaiming(rng, (20, 192, 3)) * 0.3, threshold=4e-3)

    def test_sparse_threshold_with_row_threshold(self):
        rng = np.random.default_rng(5)
        blocks = kaiming(rng, (20, 192, 3)) * 0.3
        self.compare(blocks, threshold=2e-2, threshold_row=True)
        self.compare(low_rank_blocks(rng, 10, 171, 2, 0.05), threshold=1e-2,
                     threshold_row=True, row_factor=3.0)

    def test_column_scale(self):
        rng = np.random.default_rng(6)
        self.compare(kaiming(rng, (20, 192, 3)) * 0.3, scale=True,
                     threshold=4e-3)
        self.compare(low_rank_blocks(rng, 10, 192, 1, 0.01), scale=True)

    def test_column_scale_restarts(self):
        rng = np.random.default_rng(7)
        blocks = rng.normal(0, 0.5, size=(6, 64, 3))
        blocks[:, :, 2] *= 2e-3
        blocks[5, :, 2] = 0.0  # never fixable: restarts hit the cap
        self.compare(blocks, scale=True, threshold=8e-3, max_restarts=4)

    def test_frozen_rows(self):
        rng = np.random.default_rng(8)
        blocks = rng.normal(0, 0.1, size=(10, 96, 3))
        frozen = rng.random((10, 96)) < 0.3
        blocks[frozen] = 0.0
        self.compare(blocks, frozen=frozen)

    def test_other_range_and_limits(self):
        rng = np.random.default_rng(9)
        blocks = rng.normal(0, 0.2, size=(10, 192, 3))
        self.compare(blocks, min_exp=-4, max_exp=1, iternum=10)
        self.compare(blocks, iternum=1)
        self.compare(blocks, iternum=2, rcond=1e-6)


class WeightDiff(DiffBase):
    """decomposeWeight (layout, pruning, codes, B as float) end to end."""

    def compare(self, w, **opts):
        w = np.asarray(w, dtype=np.float32)
        tmp = run_driver("weight", {"input": w}, opts, ["--threads", "2"])
        with tmp:
            codes = np.load(os.path.join(tmp.name, "codes.npy"))
            basis = np.load(os.path.join(tmp.name, "basis.npy"))
            iterations = np.load(os.path.join(tmp.name, "iterations.npy"))
            pruned_path = os.path.join(tmp.name, "pruned.npy")
            pruned = np.load(pruned_path) if os.path.exists(pruned_path) \
                else None
            with open(os.path.join(tmp.name, "stats.json")) as f:
                stats = json.load(f)
        ref = se.decompose_weight(w, **opts)
        layout = ref["layout"]
        self.assertEqual(codes.shape, (layout.outputs, layout.num_blocks,
                                       layout.block_rows, 3))
        np.testing.assert_array_equal(codes, ref["codes"])
        np.testing.assert_array_equal(iterations, ref["iterations"])
        scale = max(np.abs(ref["basis"]).max(), 1e-30)
        np.testing.assert_allclose(basis, ref["basis"], rtol=0,
                                   atol=1e-6 * scale)
        if ref["pruned"] is None:
            self.assertIsNone(pruned)
        else:
            np.testing.assert_array_equal(pruned, ref["pruned"])
        self.assertEqual(stats["nnz"], int(np.count_nonzero(ref["codes"])))
        min_exp = opts.get("min_exp", -8)
        dense = se.rebuild_dense(se.values_from_codes(codes, min_exp), basis,
                                 layout)
        w64 = w.astype(np.float64)
        err = np.linalg.norm(w64 - dense) / np.linalg.norm(w64)
        self.assertAlmostEqual(stats["relative_error"], err, delta=1e-6)
        for key, index, bits in (("storage_entry_bitmap", "entry", 0),
                                 ("storage_row_bitmap", "row", 0),
                                 ("storage_row_bitmap_4bit", "row", 4)):
            want = se.storage_bits(ref["codes"], layout, 8, index, bits)
            self.assertEqual(stats[key]["total_bits"], want["total_bits"],
                             key)
            self.assertEqual(stats[key]["value_bits_per_entry"],
                             want["value_bits_per_entry"], key)
        return stats

    def test_conv3x3(self):
        rng = np.random.default_rng(11)
        stats = self.compare(kaiming(rng, (24, 64, 3, 3)), threshold=4e-3)
        # The reference reports about 0.18 on random Kaiming weights.
        self.assertGreater(stats["relative_error"], 0.1)
        self.assertLess(stats["relative_error"], 0.25)

    def test_conv_with_structured_pruning(self):
        rng = np.random.default_rng(12)
        self.compare(kaiming(rng, (40, 32, 3, 3)), fraction=0.3, group=32)
        self.compare(kaiming(rng, (33, 16, 3, 3)), fraction=0.75, group=8,
                     threshold_row=True, threshold=4e-3)

    def test_fc_with_padding(self):
        rng = np.random.default_rng(13)
        self.compare(kaiming(rng, (6, 4096)))  # 8 blocks of 171, 2 pad rows
        self.compare(kaiming(rng, (7, 10)))    # partial last row

    def test_correlated_conv(self):
        # Kernel rows of each filter drawn from a rank-1/2 subspace + noise.
        rng = np.random.default_rng(14)
        self.compare(low_rank_blocks(rng, 16, 192, 1, 0.05).reshape(
            16, 64, 3, 3))
        self.compare(low_rank_blocks(rng, 16, 96, 2, 0.01).reshape(
            16, 32, 3, 3), threshold=4e-3)

    def test_pointwise_conv_and_small_blocks(self):
        rng = np.random.default_rng(15)
        self.compare(kaiming(rng, (12, 256, 1, 1)), max_block_rows=64)


if __name__ == "__main__":
    unittest.main()
