#!/usr/bin/env python3
"""Keeping accuracy: data-aware fits, per-layer menus and plans, int-k plan
entries in the driver, and the quantized export of a trained SE MLP on the
CPU backend and the simulator. Run with /usr/bin/python3; seconds."""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
sys.path.insert(0, str(PYTHON_DIR))
sys.path.insert(0, str(HERE))

from smartdeal.plan import fits as calibrate  # noqa: E402
from smartdeal.plan import graph as plan_graph  # noqa: E402
from smartdeal.plan import menus as budget  # noqa: E402
from smartdeal.runtime import compressed as compressed_mod  # noqa: E402
from smartdeal.ir.codes import decode_codes  # noqa: E402
from test_driver import make_mlp, run_driver  # noqa: E402


def output_error(codes, basis, w, x, lo):
    """||X (Ce·B)ᵀ - X Wᵀ||², from scratch."""
    o, nb, rows, _ = codes.shape
    rebuilt = np.einsum("obrk,obkj->obrj", decode_codes(codes, lo), basis)
    rebuilt = rebuilt.reshape(o, -1)[:, : w.shape[1]]
    return float(((x @ rebuilt.T - x @ w.T) ** 2).sum())


class FitTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(3)
        self.lo, self.hi = -4, 2
        self.codes = rng.integers(1, 8, size=(5, 1, 4, 3)) * rng.choice([-1, 1], (5, 1, 4, 3))
        self.codes[rng.random(self.codes.shape) < 0.3] = 0
        self.codes = self.codes.astype(np.int8)
        self.basis = rng.standard_normal((5, 1, 3, 3))
        self.w = np.einsum("obrk,obkj->obrj", decode_codes(self.codes, self.lo),
                           self.basis).reshape(5, 12)
        # Correlated inputs: a data-aware fit differs from a weight fit.
        self.x = rng.standard_normal((200, 12)) @ rng.standard_normal((12, 12))

    def test_basis_refit_recovers_exact_bases(self):
        start = self.basis + 0.3
        new, before, after = calibrate.fit_basis(decode_codes(self.codes, self.lo), start,
                                                 self.x, self.x @ self.w.T, ridge=0.0)
        np.testing.assert_allclose(new, self.basis, atol=1e-8)
        self.assertGreater(before, 1.0)
        self.assertLess(after, 1e-12)

    def test_reselection_finds_the_exact_codes(self):
        # The first code visited a level off: its coordinate step reaches the
        # global optimum 0 (the weight is exactly representable), after which
        # no step can gain, so every code comes back exactly.
        start = self.codes.copy()
        a = tuple(np.argwhere(start != 0)[0])
        start[a] = np.sign(start[a]) * (abs(int(start[a])) % 7 + 1)
        got = calibrate.reselect_codes(start, self.basis, self.w, self.x.T @ self.x,
                                       self.lo, self.hi, sweeps=2)
        np.testing.assert_array_equal(got, self.codes)

    def test_reselection_never_adds_codes_or_error(self):
        rng = np.random.default_rng(4)
        w = self.w + 0.2 * rng.standard_normal(self.w.shape)
        got = calibrate.reselect_codes(self.codes, self.basis, w, self.x.T @ self.x,
                                       self.lo, self.hi)
        self.assertTrue(np.all(got[self.codes == 0] == 0))
        self.assertLessEqual(output_error(got, self.basis, w, self.x, self.lo),
                             output_error(self.codes, self.basis, w, self.x, self.lo))
        codes, basis, e0, e1 = calibrate.fit_layer(self.codes, self.basis, w, self.x,
                                                   self.lo, self.hi, rounds=2)
        self.assertLess(e1, e0)
        self.assertAlmostEqual(
            e1, (output_error(codes, basis, w, self.x, self.lo)
                 / float(((self.x @ w.T) ** 2).sum())) ** 0.5, places=6)


class MenuTest(unittest.TestCase):
    def test_storage_rules(self):
        codes = np.array([0, 1, -1, 2, 0, 0], np.int8).reshape(1, 1, 2, 3)
        # 3 non-zeros, magnitudes {1, 2}: 2-bit codes; 6 entries; 9 bases x 8 bits.
        self.assertEqual(budget.se_bits(codes), 3 * 2 + 6 + 9 * 8)
        self.assertEqual(budget.int_bits_of((4, 3, 3, 3), 6), 108 * 6 + 4 * 32)

    def test_int_quantize(self):
        w = np.array([[1.0, -0.5, 0.26], [0.0, 0.0, 0.0]])
        q = budget.int_quantize(w, 3)  # levels -3..3, scale max/3 per row
        np.testing.assert_allclose(q, [[1.0, -2 / 3, 1 / 3], [0.0, 0.0, 0.0]])

    def test_choose_takes_the_smallest_entry_within_eps(self):
        m = budget.LayerMenu("l", None, np.zeros((2, 8)), (2, 8))
        m.entries += [{"plan": {"form": "int", "bits": 8}, "bits": 200, "error": 0.01, "weight": 0},
                      {"plan": {"form": "int", "bits": 4}, "bits": 100, "error": 0.2, "weight": 0},
                      {"plan": {"form": "se"}, "bits": 150, "error": 0.05, "weight": 0}]
        self.assertEqual(budget.choose([m], 0.0)["l"]["plan"], {"form": "dense"})
        self.assertEqual(budget.choose([m], 0.02)["l"]["bits"], 200)
        self.assertEqual(budget.choose([m], 0.05)["l"]["bits"], 150)
        self.assertEqual(budget.choose([m], 1.0)["l"]["bits"], 100)


class IntProblem:
    """A layer with correlated, mostly positive inputs for the int-k fits."""

    def setUp(self):
        rng = np.random.default_rng(11)
        k = 24
        # Correlated, mostly positive inputs, as after a ReLU.
        self.x = np.abs(rng.standard_normal((500, k)) @ rng.standard_normal((k, k))) * 0.3
        self.w = rng.standard_normal((7, k)) * 0.2

    def objective(self, ints, scale):
        d = ints * scale[:, None] - self.w
        return float(((self.x @ d.T) ** 2).sum())


class FitIntTest(IntProblem, unittest.TestCase):
    def test_integers_in_range_and_better_than_nearest(self):
        for bits in (8, 5, 4):
            ints, scale = calibrate.fit_int(self.w, self.x, bits, damping=0.0)
            q = (1 << (bits - 1)) - 1
            self.assertEqual(ints.shape, self.w.shape)
            self.assertLessEqual(int(np.abs(ints).max()), q)
            rtn = budget.int_quantize(self.w, bits)
            self.assertLess(self.objective(ints, scale),
                            float(((self.x @ (rtn - self.w).T) ** 2).sum()))

    def test_no_single_integer_step_lowers_the_output_error(self):
        # Coordinate descent ends at a point where moving any one integer by
        # one level (within range) cannot lower the objective.
        bits = 4
        ints, scale = calibrate.fit_int(self.w, self.x, bits, damping=0.0)
        best = self.objective(ints, scale)
        for o in range(ints.shape[0]):
            for p in range(ints.shape[1]):
                for step in (-1, 1):
                    trial = ints.copy()
                    trial[o, p] += step
                    if abs(trial[o, p]) <= 7:
                        self.assertGreaterEqual(self.objective(trial, scale), best - 1e-9)


class AdaRoundTest(IntProblem, unittest.TestCase):
    """fits.clip_scales and fits.fit_int_adaround on the same problem."""

    def nearest(self, scale, bits):
        q = (1 << (bits - 1)) - 1
        return np.clip(np.round(self.w / scale[:, None]), -q, q)

    def test_clipping_never_worse_than_max_abs(self):
        h = self.x.T @ self.x
        for bits in (5, 4):
            q = (1 << (bits - 1)) - 1
            top = np.abs(self.w).max(axis=1) / q
            scale = calibrate.clip_scales(self.w, h, bits)
            self.assertTrue(np.all(scale <= top + 1e-15) and np.all(scale >= 0.5 * top - 1e-15))
            self.assertLessEqual(self.objective(self.nearest(scale, bits), scale),
                                 self.objective(self.nearest(top, bits), top))

    def test_each_integer_rounds_down_or_up_and_beats_nearest(self):
        for bits in (5, 4):
            q = (1 << (bits - 1)) - 1
            ints, scale = calibrate.fit_int_adaround(self.w, self.x, self.x @ self.w.T, bits,
                                                     iters=400)
            self.assertEqual(ints.shape, self.w.shape)
            self.assertLessEqual(int(np.abs(ints).max()), q)
            exact = np.clip(self.w / scale[:, None], -q, q)
            self.assertTrue(np.all((ints == np.floor(exact)) | (ints == np.ceil(exact))))
            ours = self.objective(ints, scale)
            # Learned rounding at the same scales beats round-to-nearest
            # (on this problem by ~1 %: random weights leave little to gain).
            self.assertLess(ours, self.objective(self.nearest(scale, bits), scale))

    def test_learns_under_no_grad(self):
        # fits.sequential calls it inside torch.no_grad().
        import torch

        with torch.no_grad():
            ints, scale = calibrate.fit_int_adaround(self.w, self.x, self.x @ self.w.T, 4,
                                                     iters=400)
        self.assertLess(self.objective(ints, scale),
                        self.objective(self.nearest(scale, 4), scale))

    def test_target_of_other_inputs_is_followed(self):
        # Rows from a perturbed upstream (x2) with the original outputs as
        # target: the rounding absorbs part of the perturbation, so the
        # output error against the target is below nearest rounding's.
        rng = np.random.default_rng(3)
        x2 = self.x * (1 + 0.05 * rng.standard_normal(self.x.shape))
        target = self.x @ self.w.T
        ints, scale = calibrate.fit_int_adaround(self.w, x2, target, 5, iters=400)
        err = lambda i: float(((x2 @ (i * scale[:, None]).T - target) ** 2).sum())  # noqa: E731
        self.assertLess(err(ints), err(self.nearest(scale, 5)))


class SensitivityTest(unittest.TestCase):
    @staticmethod
    def menu(name, entries):
        m = budget.LayerMenu(name, None, np.zeros((2, 8)), (2, 8))
        m.entries += [{"plan": {"form": "int", "bits": b}, "bits": b * 10, "error": err,
                       "weight": 0, "damage": dmg} for b, err, dmg in entries]
        m.entries[0]["damage"] = 0.0
        return m

    def test_pareto_front(self):
        from smartdeal.plan import sensitivity
        entries = [{"bits": 10, "error": 0.5}, {"bits": 20, "error": 0.6},
                   {"bits": 20, "error": 0.3}, {"bits": 30, "error": 0.3},
                   {"bits": 40, "error": 0.0}]
        self.assertEqual([(e["bits"], e["error"]) for e in sensitivity.pareto(entries)],
                         [(10, 0.5), (20, 0.3), (40, 0.0)])

    def test_allocation_spends_bits_where_they_buy_the_most(self):
        from smartdeal.plan import sensitivity
        # Dense is 2*8*32 = 512 bits per layer. Layer a is sensitive, b is not.
        a = self.menu("a", [(8, 0.01, 0.001), (4, 0.1, 1.0)])
        b = self.menu("b", [(8, 0.01, 0.001), (4, 0.1, 0.002)])
        menus = [a, b]
        pick = sensitivity.allocate(menus, 0.0)          # bits only
        self.assertEqual([pick[m.name]["bits"] for m in menus], [40, 40])
        pick = sensitivity.allocate(menus, 1e3)          # a: 40 + 1000 > 80 + 1
        self.assertEqual([pick[m.name]["bits"] for m in menus], [80, 40])
        # The least summed damage reaching 1024 / 120 = 8.53x: a stays at 8 bits.
        pick = sensitivity.for_ratio(menus, 8.5)
        self.assertEqual([pick[m.name]["bits"] for m in menus], [80, 40])
        self.assertAlmostEqual(sensitivity.predicted_damage(menus, pick), 0.003)
        # 12.8x only with both at 4 bits.
        pick = sensitivity.for_ratio(menus, 12.8)
        self.assertEqual([pick[m.name]["bits"] for m in menus], [40, 40])
        points = sensitivity.sweep(menus)
        self.assertEqual(sorted(round(p["compression_ratio"], 3) for p in points),
                         [1.0, 6.4, 8.533, 12.8])

    def test_search_tries_uniform_int_k_beyond_its_pick(self):
        from unittest import mock

        from smartdeal.plan import sensitivity
        # int6 is off both layers' fronts (no damage), so only the uniform
        # candidates reach it. The metric passes dense and uniform int6 only.
        a = self.menu("a", [(8, 0.01, 0.001), (4, 0.1, 1.0)])
        b = self.menu("b", [(8, 0.01, 0.001), (4, 0.1, 0.002)])
        for m in (a, b):
            m.entries.append({"plan": {"form": "int", "bits": 6}, "bits": 60,
                              "error": 0.05, "weight": 0})
        menus = [a, b]
        bits = lambda c: [c[m.name]["bits"] for m in menus]  # noqa: E731
        ok = {(512, 512), (60, 60)}
        metric = lambda c: 1.0 if tuple(bits(c)) in ok else 0.0  # noqa: E731
        with mock.patch.object(sensitivity, "apply_choice", lambda _m, _ms, c, **_k: c):
            found = sensitivity.search(sensitivity.choose(menus, 0.0), menus, metric, 0.1, {},
                                       finish=lambda c: (c, {}),
                                       extra=sensitivity.uniform_choices(menus, (8, 6, 4)))
            self.assertEqual(bits(found["choice"]), [60, 60])
            self.assertIsNone(found["lam"])
            self.assertEqual(found["picked"], "uniform int-k")
            uniform = [round(t["compression_ratio"], 3) for t in found["trace"]
                       if t["lam"] is None]
            self.assertEqual(uniform, [12.8, 8.533])  # most compressed first; stops there
            # When the sweep's own pick is more compressed, no uniform plan is tried.
            found = sensitivity.search(None, menus, lambda c: 1.0, 0.1, {},
                                       finish=lambda c: (c, {}),
                                       extra=sensitivity.uniform_choices(menus, (8, 6, 4)))
            self.assertEqual(bits(found["choice"]), [40, 40])
            self.assertFalse([t for t in found["trace"] if t["lam"] is None])

    def test_suffix_divergence_equals_a_full_run(self):
        # Differential: the divergence measured by re-running only the graph
        # after the changed layer equals the one from running the whole
        # changed model from scratch, for a Softmax output (KL) and a plain
        # one (relative squared error), with the bias correction applied.
        from onnx import TensorProto, helper

        from smartdeal.plan import sensitivity
        from smartdeal.importers.onnx_reference import OnnxReference
        rng = np.random.default_rng(2)
        w1 = rng.standard_normal((6, 8)).astype(np.float32)
        b1 = rng.standard_normal(8).astype(np.float32)
        w2 = rng.standard_normal((8, 5)).astype(np.float32)
        xs = [rng.standard_normal((3, 6)).astype(np.float32) for _ in range(4)]
        for softmax in (True, False):
            nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
                     helper.make_node("Add", ["h", "b1"], ["hb"], name="add1"),
                     helper.make_node("Relu", ["hb"], ["r"], name="relu"),
                     helper.make_node("MatMul", ["r", "w2"], ["z"], name="fc2")]
            if softmax:
                nodes.append(helper.make_node("Softmax", ["z"], ["y"], axis=-1))
            else:
                nodes.append(helper.make_node("Identity", ["z"], ["y"]))
            graph = helper.make_graph(
                nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 6])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])],
                [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                 numpy_helper.from_array(w2, "w2")])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            menus = [budget.LayerMenu(n.name, n, w, s) for n, w, s in plan_graph.weight_layers(model)]
            raw = budget.capture_raw(model, menus, [{"x": x} for x in xs], 4)
            runner = sensitivity.SuffixRunner(model, xs, batch=3)
            for m in menus:
                new = m.weight + 0.2 * rng.standard_normal(m.weight.shape)
                shift = budget.output_shift(m, new, raw[m.name])
                got = runner.divergence(m.node, plan_graph.onnx_weight(m, new), shift)
                entry = {"plan": {"form": "int", "bits": 8}, "bits": 1, "error": 0.0,
                         "weight": new}
                choice = {n.name: n.entries[0] for n in menus}
                choice[m.name] = entry
                changed = OnnxReference(budget.apply_choice(model, menus, choice, raw))
                ref = OnnxReference(model)
                ys = [ref.run({"x": x})[0].astype(np.float64) for x in xs]
                zs = [changed.run({"x": x})[0].astype(np.float64) for x in xs]
                if softmax:
                    want = np.mean([(y * (np.log(y) - np.log(z))).sum(-1)
                                    for y, z in zip(ys, zs)])
                else:
                    want = sum(((z - y) ** 2).sum() for y, z in zip(ys, zs)) / \
                        sum((y ** 2).sum() for y in ys)
                self.assertGreater(want, 1e-4)
                self.assertAlmostEqual(got / want, 1.0, places=5,
                                       msg=f"{m.name} softmax={softmax}")


class SeveralInputsTest(unittest.TestCase):
    """Models like Silero VAD: several inputs (signal, a sample-rate scalar,
    a state), the layers inside an If on the sample rate, a Conv1d."""

    def model(self):
        from onnx import TensorProto, helper

        rng = np.random.default_rng(5)
        self.w1 = rng.standard_normal((4, 2, 3)).astype(np.float32)
        self.w2 = rng.standard_normal((4, 3)).astype(np.float32)
        self.w3 = rng.standard_normal((4, 3)).astype(np.float32)
        then = helper.make_graph(
            [helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1d", pads=[1, 1]),
             helper.make_node("ReduceMean", ["c"], ["m"], name="mean", axes=[2], keepdims=0),
             helper.make_node("Add", ["m", "state"], ["s"], name="add"),
             helper.make_node("MatMul", ["s", "w2"], ["y_then"], name="fc")],
            "then", [], [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, [1, 3])],
            [numpy_helper.from_array(self.w1, "w1"), numpy_helper.from_array(self.w2, "w2")])
        other = helper.make_graph(
            [helper.make_node("MatMul", ["state", "w3"], ["y_else"], name="fc_else")],
            "else", [], [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, [1, 3])],
            [numpy_helper.from_array(self.w3, "w3")])
        graph = helper.make_graph(
            [helper.make_node("Constant", [], ["rate"], name="rate",
                              value=numpy_helper.from_array(np.array(16000, np.int64))),
             helper.make_node("Equal", ["sr", "rate"], ["cond"], name="eq"),
             helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then,
                              else_branch=other)],
            "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 16]),
                  helper.make_tensor_value_info("sr", TensorProto.INT64, []),
                  helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])

    def inputs(self, count, seed=0):
        rng = np.random.default_rng(seed)
        return [{"x": rng.standard_normal((1, 2, 16)).astype(np.float32),
                 "state": rng.standard_normal((1, 4)).astype(np.float32),
                 "sr": np.array(16000, np.int64)} for _ in range(count)]

    def test_inlined_branch_computes_what_the_original_does(self):
        from smartdeal.importers.onnx_reference import OnnxReference

        model = self.model()
        flat = plan_graph.inline_constant_branches(model, {"sr": 16000})
        self.assertNotIn("If", [n.op_type for n in flat.graph.node])
        self.assertEqual([i.name for i in flat.graph.input], ["x", "sr", "state"])
        self.assertEqual([n.name for n, _, _ in plan_graph.weight_layers(flat)],
                         ["conv1d", "fc"])
        self.assertEqual(plan_graph.weight_layers(model), [])
        a, b = OnnxReference(model), OnnxReference(flat)
        for x in self.inputs(3):
            np.testing.assert_array_equal(a.run(x)[0], b.run(x)[0])
        # The other rate takes the other branch.
        other = plan_graph.inline_constant_branches(model, {"sr": 8000})
        self.assertEqual([n.name for n, _, _ in plan_graph.weight_layers(other)], ["fc_else"])

    def test_conv1d_output_and_rows_match_the_reference(self):
        from smartdeal.importers.onnx_reference import OnnxReference

        flat = plan_graph.inline_constant_branches(self.model(), {"sr": 16000})
        node, w, _ = plan_graph.weight_layers(flat)[0]
        x = self.inputs(1)[0]
        want = OnnxReference(flat).run_capture(x, ["c"])["c"]
        got = plan_graph.layer_output(node, x["x"], w)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        rows = plan_graph.input_rows(node, x["x"], w.shape)
        self.assertEqual(rows.shape, (16, 6))
        np.testing.assert_allclose((rows @ w.reshape(4, -1).T).T[None], want,
                                   rtol=1e-5, atol=1e-5)
        self.assertEqual(plan_graph.channel_axes(node, want), (0, 2))

    def test_suffix_divergence_with_several_inputs(self):
        # Differential, as test_suffix_divergence_equals_a_full_run, with
        # every input fed from dicts and no batching (several inputs).
        from smartdeal.importers.onnx_reference import OnnxReference
        from smartdeal.plan import sensitivity

        flat = plan_graph.inline_constant_branches(self.model(), {"sr": 16000})
        self.assertFalse(plan_graph.batchable(flat))
        xs = self.inputs(3, seed=1)
        menus = [budget.LayerMenu(n.name, n, w, s) for n, w, s in plan_graph.weight_layers(flat)]
        runner = sensitivity.SuffixRunner(flat, xs, batch=3)
        rng = np.random.default_rng(4)
        ref = OnnxReference(flat)
        ys = [ref.run(x)[0].astype(np.float64) for x in xs]
        for m in menus:
            new = m.weight + 0.2 * rng.standard_normal(m.weight.shape)
            got = runner.divergence(m.node, plan_graph.onnx_weight(m, new))
            choice = {n.name: n.entries[0] for n in menus}
            choice[m.name] = {"plan": {"form": "int", "bits": 8}, "bits": 1, "error": 0.0,
                              "weight": new}
            changed = OnnxReference(budget.apply_choice(flat, menus, choice))
            zs = [changed.run(x)[0].astype(np.float64) for x in xs]
            want = sum(((z - y) ** 2).sum() for y, z in zip(ys, zs)) / \
                sum((y ** 2).sum() for y in ys)
            self.assertGreater(want, 1e-4)
            self.assertAlmostEqual(got / want, 1.0, places=5, msg=m.name)


class MenusKeyTest(unittest.TestCase):
    """The menus cache is keyed by what sd-decompose makes of the model, not
    by the run's timings or the binary's date."""

    def test_timings_do_not_change_the_key(self):
        from smartdeal.plan import sensitivity

        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "m.onnx").write_bytes(b"model")
            (tmp / "out.mlir").write_text("module {}\n")
            calib = [{"x": np.arange(4, dtype=np.float32)}]

            def key(layer_time, total_time, bits):
                (tmp / "r.json").write_text(json.dumps(
                    {"layers": [{"name": "fc", "bits": bits, "time_ms": layer_time}],
                     "totals": {"bits": bits, "time_ms": total_time}}))
                return sensitivity.menus_key(tmp / "m.onnx", calib,
                                             [(tmp / "r.json", tmp / "out.mlir")], 1, 0, 4)

            self.assertEqual(key(1.5, 9.0, 100), key(7.25, 3.0, 100))
            # A different decomposition, output or calibration is another key.
            self.assertNotEqual(key(1.5, 9.0, 100), key(1.5, 9.0, 96))
            base = key(1.5, 9.0, 100)
            (tmp / "out.mlir").write_text("module { }\n")
            self.assertNotEqual(key(1.5, 9.0, 100), base)
            calib[0]["x"] = calib[0]["x"] + 1
            self.assertNotEqual(key(1.5, 9.0, 100), base)


class SequentialTest(unittest.TestCase):
    def test_bias_shifts_carry_upstream_drift(self):
        # Two layers with biases, both rounded to int3: the sequential pass
        # measures each layer's shift on the inputs the compressed model
        # gives it, so afterwards the last layer's mean output equals the
        # original's on the calibration inputs (exactly, up to rounding),
        # which per-layer correction on the original inputs does not give.
        # The same with the batch axis open (inputs stacked) and fixed (one
        # environment per input).
        from onnx import TensorProto, helper

        from smartdeal.importers.onnx_reference import OnnxReference
        rng = np.random.default_rng(4)
        w1 = rng.standard_normal((6, 8)).astype(np.float32)
        b1 = rng.standard_normal(8).astype(np.float32)
        w2 = rng.standard_normal((8, 5)).astype(np.float32)
        b2 = rng.standard_normal(5).astype(np.float32)
        xs = [np.abs(rng.standard_normal((3, 6))).astype(np.float32) for _ in range(5)]
        results = []
        for batch_dim in (3, "n"):
            nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
                     helper.make_node("Add", ["h", "b1"], ["hb"], name="add1"),
                     helper.make_node("Relu", ["hb"], ["r"], name="relu"),
                     helper.make_node("MatMul", ["r", "w2"], ["z"], name="fc2"),
                     helper.make_node("Add", ["z", "b2"], ["y"], name="add2")]
            graph = helper.make_graph(
                nodes, "g",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch_dim, 6])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch_dim, 5])],
                [numpy_helper.from_array(v, n) for v, n in
                 ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            menus = [budget.LayerMenu(n.name, n, w, sh) for n, w, sh in plan_graph.weight_layers(model)]
            choice = {m.name: {"plan": {"form": "int", "bits": 3}, "bits": 1, "error": 0.0,
                               "weight": budget.int_quantize(m.weight, 3)} for m in menus}
            new, shifts = calibrate.sequential(model, menus, choice, xs)
            self.assertEqual(sorted(shifts), ["fc1", "fc2"])
            for name in choice:  # int-k keeps its integers
                np.testing.assert_array_equal(new[name]["weight"], choice[name]["weight"])
            ref = OnnxReference(model)
            want = np.mean([ref.run({"x": x})[0] for x in xs], axis=(0, 1))

            def mean_out(m):
                r = OnnxReference(m)
                return np.mean([r.run({"x": x})[0] for x in xs], axis=(0, 1))
            got = mean_out(budget.apply_choice(model, menus, new, shifts=shifts))
            np.testing.assert_allclose(got, want, atol=1e-5)
            raw = budget.capture_raw(model, menus, [{"x": x} for x in xs], len(xs))
            isolated = mean_out(budget.apply_choice(model, menus, choice, raw))
            self.assertGreater(np.abs(isolated - want).max(), 1e-3)
            results.append(shifts)
        for name in results[0]:
            np.testing.assert_allclose(results[0][name], results[1][name], rtol=1e-9)


class BiasCorrectionTest(unittest.TestCase):
    def test_corrected_bias_restores_the_mean_output(self):
        from onnx import TensorProto, helper

        from smartdeal.importers.onnx_reference import OnnxReference
        rng = np.random.default_rng(5)
        w = rng.standard_normal((6, 4)).astype(np.float32)   # MatMul [K, N]
        b = rng.standard_normal(4).astype(np.float32)
        nodes = [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(w)),
                 helper.make_node("Constant", [], ["b"], value=numpy_helper.from_array(b)),
                 helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
                 helper.make_node("Add", ["h", "b"], ["y"], name="add")]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 6])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 4])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        (node, weight, shape), = plan_graph.weight_layers(model)
        menu = budget.LayerMenu("fc", node, weight, shape)
        new = weight + 0.3 * rng.standard_normal(weight.shape)   # canonical [N, K]
        menu.entries.append({"plan": {"form": "int", "bits": 8}, "bits": 1, "error": 0.0,
                             "weight": new})
        xs = [np.abs(rng.standard_normal((5, 6))).astype(np.float32) for _ in range(3)]
        raw = budget.capture_raw(model, [menu], [{"x": x} for x in xs], 3)
        choice = {"fc": menu.entries[-1]}
        plain = budget.apply_choice(model, [menu], choice)
        fixed = budget.apply_choice(model, [menu], choice, raw)

        def mean_out(m):
            r = OnnxReference(m)
            return np.mean([r.run({"x": x})[0] for x in xs], axis=(0, 1))
        want = mean_out(model)
        self.assertGreater(np.abs(mean_out(plain) - want).max(), 0.05)
        np.testing.assert_allclose(mean_out(fixed), want, atol=1e-5)


class DriverPlanTest(unittest.TestCase):
    def test_int_entry_is_quantized_everywhere(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            w1, w2 = make_mlp(tmp / "mlp.onnx")
            (tmp / "plan.json").write_text(json.dumps(
                {"layers": {"fc1": {"form": "int", "bits": 6},
                            "fc2": {"form": "se", "threshold": 0.001}}}))
            out = tmp / "out"
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--config", tmp / "plan.json", "--no-accelerator")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            summary = json.loads((out / "summary.json").read_text())
            self.assertEqual(summary["totals"]["int_layers"], 1)
            self.assertEqual(summary["totals"]["compressed_layers"], 2)
            self.assertLess(summary["cpu"]["relative_error"], 1e-4)
            fc1 = next(l for l in json.loads((out / "layers.json").read_text())["layers"]
                       if l["name"] == "fc1")
            self.assertEqual(fc1["form"], "int6")
            self.assertEqual(fc1["bits"], 64 * 48 * 6 + 64 * 32)
            inits = {i.name: numpy_helper.to_array(i)
                     for i in onnx.load(str(out / "compressed.onnx")).graph.initializer}
            want = budget.int_quantize(w1.T.astype(np.float64), 6).T.astype(np.float32)
            np.testing.assert_array_equal(inits["w1"], want)

    def test_data_aware_int_entry(self):
        # `rounding: data` from a plan file: the driver fits the integers to
        # calibration inputs; they stay on a per-channel int6 grid with the
        # same storage, and the layer's output error beats round-to-nearest.
        from smartdeal.importers.onnx_reference import OnnxReference
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            w1, w2 = make_mlp(tmp / "mlp.onnx")
            (tmp / "plan.json").write_text(json.dumps(
                {"layers": {"fc1": {"form": "int", "bits": 6, "rounding": "data"}}}))
            out = tmp / "out"
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--config", tmp / "plan.json", "--no-accelerator")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            fc1 = next(l for l in json.loads((out / "layers.json").read_text())["layers"]
                       if l["name"] == "fc1")
            self.assertEqual((fc1["form"], fc1["bits"]), ("int6-data", 64 * 48 * 6 + 64 * 32))
            got = {i.name: numpy_helper.to_array(i) for i in
                   onnx.load(str(out / "compressed.onnx")).graph.initializer}["w1"]
            for row in got.T.astype(np.float64):        # one scale per output
                # Some largest level m <= 31 makes every value an integer.
                top = np.abs(row).max()
                self.assertTrue(any(np.allclose(row * m / top, np.round(row * m / top),
                                                atol=1e-4) for m in range(1, 32)), row)
            rtn = budget.int_quantize(w1.T.astype(np.float64), 6).T
            self.assertFalse(np.array_equal(got, rtn.astype(np.float32)))
            # The driver's calibration inputs (seed 1, normal, as for any model).
            rng = np.random.default_rng(1)
            xs = [rng.standard_normal((2, 48)).astype(np.float32) for _ in range(4)]
            err = lambda w: sum(float(((x @ w - x @ w1) ** 2).sum()) for x in xs)  # noqa: E731
            self.assertLess(err(got), err(rtn))

    def test_bad_rounding_is_one_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            (tmp / "plan.json").write_text(json.dumps(
                {"layers": {"fc1": {"form": "int", "bits": 6, "rounding": "up"}}}))
            proc = run_driver(tmp / "mlp.onnx", "-o", tmp / "out", "--config",
                              tmp / "plan.json")
            self.assertEqual(proc.returncode, 1)
            self.assertIn('layers.fc1.rounding: expected nearest or data, got "up"',
                          proc.stderr)
            self.assertFalse((tmp / "out").exists())

    def test_permdiag_and_se_layers_in_one_model(self):
        from smartdeal.runtime.compressed import rebuild_permdiag
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            w1, w2 = make_mlp(tmp / "mlp.onnx")
            (tmp / "plan.json").write_text(json.dumps(
                {"layers": {"fc1": {"form": "se", "threshold": 0.001},
                            "fc2": {"form": "permdiag", "p": 4}}}))
            out = tmp / "out"
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--config", tmp / "plan.json")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            summary = json.loads((out / "summary.json").read_text())
            layers = {l["name"]: l for l in json.loads((out / "layers.json").read_text())["layers"]}
            self.assertEqual(layers["fc1"]["form"], "se")
            self.assertEqual(layers["fc2"]["form"], "permdiag")
            self.assertEqual(layers["fc2"]["p"], 4)
            totals = summary["totals"]
            self.assertEqual((totals["compressed_layers"], totals["permdiag_layers"]), (2, 1))
            self.assertEqual(totals["dense_bits"], 32 * (w1.size + w2.size))
            self.assertEqual(totals["bits"], layers["fc1"]["bits"] + layers["fc2"]["bits"])
            # The exported fc2 is exactly the permuted-diagonal weight in the IR.
            text = (out / "compressed.mlir").read_text()
            self.assertIn("sd.permdiag_matmul", text)
            self.assertIn("sd.shift_add_matmul", text)
            pd = [l for l in compressed_mod.load_permdiag(out / "permdiag.json",
                                                          out / "compressed.mlir")]
            exported = onnx.load(str(out / "compressed.onnx"))
            inits = {i.name: numpy_helper.to_array(i) for i in exported.graph.initializer}
            np.testing.assert_array_equal(
                inits["w2"], rebuild_permdiag(pd[0].offsets, pd[0].values, (40, 64)))
            self.assertLess(summary["cpu"]["relative_error"], 1e-4)
            # Both layers ran on the accelerator as one segment, the SE layer
            # in its rebuild format and the permdiag one on its engine.
            accel = summary["accelerator"]
            self.assertEqual((accel["ops_on_accelerator"], accel["ops_on_host"]), (2, 0))
            self.assertEqual(accel["segments"], ["main_acc0"])
            run = json.loads((out / "accelerator" / "report.json").read_text())
            formats = [l["format"] for seg in run["segments"]
                       for l in seg["first_run"]["layers"]]
            self.assertEqual(formats, ["se", "permdiag"])

    def test_bad_plan_form_is_one_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            for entry, message in [({"form": "int"}, "layers.fc1: form int needs 'bits'"),
                                   ({"form": "lut"}, 'layers.fc1.form: expected se, '
                                    'permdiag, int or dense, got "lut"'),
                                   ({"form": "permdiag", "p": 0},
                                    "layers.fc1.p: expected an integer of at least 1, "
                                    "got 0")]:
                (tmp / "plan.json").write_text(json.dumps({"layers": {"fc1": entry}}))
                proc = run_driver(tmp / "mlp.onnx", "-o", tmp / "out",
                                  "--config", tmp / "plan.json")
                self.assertEqual(proc.returncode, 1)
                self.assertIn(message, proc.stderr)
                self.assertFalse((tmp / "out").exists())

    def test_search_within_budget(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            out = tmp / "out"
            # Output relative error budget 0: nothing may change; a generous
            # one compresses both layers.
            for b, compressed in [("0", 0), ("10", 2)]:
                proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                                  "--budget", b, "--search", "--no-accelerator")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                plan = json.loads((out / "plan.json").read_text())
                self.assertEqual(sorted(plan["layers"]), ["fc1", "fc2"])
                summary = json.loads((out / "summary.json").read_text())
                self.assertEqual(summary["totals"]["compressed_layers"], compressed)
                self.assertLess(summary["cpu"]["relative_error"], 1e-4)


class QuantizedExportTest(unittest.TestCase):
    def test_trained_se_mlp_on_cpu_and_simulator(self):
        import torch
        import torch.nn as nn

        from smartdeal.accel import network as accelnet
        from smartdeal.runtime.runner import find_sd_opt
        from smartdeal.training import convert_model
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(40, 24), nn.ReLU(), nn.Linear(24, 10))
        model = convert_model(model, "se", 1e-3, (-4, 2))
        x = torch.randn(6, 40)
        net, result = accelnet.from_module(model, x.numpy())
        xq = accelnet.quantize_input(net, x.numpy())
        tools = Path(find_sd_opt()).parent
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "net.mlir").write_text(net.mlir(result))
            subprocess.run([str(tools / "sd-translate"), "--sd-to-sdacc", str(work / "net.mlir"),
                            "-o", str(work / "net.sdacc")], check=True)
            cpu = accelnet.run_cpu(net.mlir(result), xq, net.shape(result), work,
                                   sd_opt=str(tools / "sd-opt"))
            sim, _ = accelnet.run_sim(work / "net.sdacc", xq, work, sd_sim=str(tools / "sd-sim"))
        np.testing.assert_array_equal(sim, cpu)
        out_scale = net.scales[result]
        with torch.no_grad():
            ref = model(x).numpy()
        # int8 activations: within a few output steps of the float model.
        self.assertLess(np.abs(cpu * out_scale - ref).max(), 4 * out_scale + 0.05 * np.abs(ref).max())


if __name__ == "__main__":
    unittest.main()
