"""What "keeps working" means for each real model, measured on realistic data.

For the OCR recognizer it is exact-match word accuracy, for the orientation
classifier the share of lines whose orientation is right, both on the
realistic test split (smartdeal.data) with a 95 % interval; for other
models, the output's relative error against the original on the model's
inputs. Calibration inputs come from the calibration split and the search's
metric looks at the validation split, so nothing the plan is tuned on is
ever scored. `evaluate` measures the original, the exported float model and
the compiled library (libmodel.so) on the same inputs, and says whether the
compressed model is broken.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..runtime import aot, ort

# A compressed model is broken when its accuracy drops by more than this
# (absolute, on the test split) or, for models measured by their outputs,
# when the relative output error exceeds BROKEN_ERROR.
BROKEN_DROP = 0.05
BROKEN_ERROR = 0.1
TASKS = {"ocr-rec": "words", "ocr-cls": "orientation", "ocr-det": "regions"}
# Detector: broken when the thresholded text maps overlap the original's by
# less than this (mean intersection over union on the test pages).
BROKEN_IOU = 0.8
# Test inputs the driver measures by default, per task.
DEFAULT_SAMPLES = {"words": 1000, "orientation": 1000, "regions": 20, "output": 5}
# Validation words the recognizer's search scores every candidate plan on:
# a half-point budget needs the paired difference to a few tenths of a point
# (docs/Accuracy.md).
VALIDATION_WORDS = 1000
# The driver's default --budget per task, on the search metric of
# `search_metric` (validation split): the allowed drop of word accuracy
# (recognizer: half a point, so the test split, which the search never sees,
# stays within the one point), of the probability given to the
# original's class (orientation), or the allowed relative output error.
# Chosen by measurement (docs/Accuracy.md).
DEFAULT_BUDGETS = {"words": 0.005, "orientation": 0.02, "regions": 0.05, "output": 0.05}


def task(real) -> str:
    """'words', 'orientation', 'regions' or 'output' (relative output error)."""
    return TASKS.get(real.name, "output") if real is not None else "output"


def data_module(real):
    from ..data import ocr_cls, ocr_det, ocr_rec

    return {"words": ocr_rec, "orientation": ocr_cls, "regions": ocr_det}[task(real)]


def graph_inputs(model, real):
    """(name, shape) of every graph input the caller feeds, in graph order:
    initializers and the real model's constant inputs (Silero's sample rate,
    fixed at import) are left out. A real model's static import shapes
    (smartdeal.models: Silero's audio and state) replace the graph's
    dynamic dimensions."""
    skip = {i.name for i in model.graph.initializer}
    skip |= set(dict(real.constant_inputs)) if real is not None else set()
    static = dict(real.input_shapes) if real is not None else {}
    return [(i.name, list(static.get(i.name) or
                          [d.dim_value for d in i.type.tensor_type.shape.dim]))
            for i in model.graph.input if i.name not in skip]


def constant_feeds(real) -> Dict[str, np.ndarray]:
    """The fixed values of the real model's constant inputs, as fed to ONNX."""
    consts = dict(real.constant_inputs) if real is not None else {}
    return {n: np.array(v, dtype=np.int64) for n, v in consts.items()}


def split_inputs(path: Path, real, split: str, count: int, seed: int = 0,
                 shapes: Optional[List[List[int]]] = None) -> List[dict]:
    """`count` inputs of `split` (name -> array, constant inputs left out):
    rendered text for the OCR models, seeded normal noise (seed per split)
    for the others, with `shapes` (the imported @main's, in graph order)
    where the graph's own dimensions are dynamic."""
    import onnx

    inputs = graph_inputs(onnx.load(str(path)), real)
    if task(real) != "output":
        if len(inputs) != 1:
            raise ValueError(f"the {task(real)} data covers models with one input; this one "
                             f"has {len(inputs)} ({', '.join(n for n, _ in inputs)})")
        name = inputs[0][0]
        return [{name: x} for x in data_module(real).inputs(split, count, seed)]
    # Models without a realistic data module yet (the audio models).
    if shapes is not None:
        inputs = [(n, list(s)) for (n, _), s in zip(inputs, shapes)]
    bad = [n for n, s in inputs if any(d <= 0 for d in s)]
    if bad:
        raise ValueError(f"input {bad[0]!r} has a dynamic shape; give --input-shape")
    offset = {"calibration": 1, "validation": 2, "test": 3}[split]
    rng = np.random.default_rng(1000 * seed + offset)
    return [{n: rng.standard_normal(s).astype(np.float32) for n, s in inputs}
            for _ in range(count)]


def search_metric(path: Path, real, count: int, seed: int = 0,
                  shapes: Optional[List[List[int]]] = None):
    """(model, metric): metric(onnx model) is higher-is-better on `count`
    validation inputs. Recognizer: exact-match word accuracy against the
    true words (what the test split reports; through ONNX Runtime when
    installed, so a thousand words take seconds); classifier: the mean
    probability given to the original's class; detector: the mean overlap
    of the thresholded text maps; others: minus the mean relative output
    error."""
    import onnx

    from ..importers.onnx_reference import OnnxReference

    model = onnx.load(str(path))
    kind = task(real)
    if kind == "words":
        sample = data_module(real).samples("validation", count, seed)

        def metric(m):
            accuracy, _ = _score(real, ort.runner(m), path, sample)
            return accuracy.value

        return model, metric
    base = OnnxReference(model)
    consts = constant_feeds(real)
    xs = [dict(consts, **d) for d in split_inputs(path, real, "validation", count, seed, shapes)]
    if kind == "orientation":

        expected = [int(np.asarray(base.run(x)[0]).reshape(-1).argmax()) for x in xs]

        def metric(m):
            ref = OnnxReference(m)
            return float(np.mean([np.asarray(ref.run(x)[0]).reshape(-1)[e]
                                  for x, e in zip(xs, expected)]))
    elif kind == "regions":
        from ..data import ocr_det

        expected = [base.run(x)[0] for x in xs]

        def metric(m):
            ref = OnnxReference(m)
            return float(np.mean([ocr_det.region_iou(ref.run(x)[0], y)
                                  for x, y in zip(xs, expected)]))
    else:
        expected = [base.run(x)[0] for x in xs]

        def metric(m):
            ref = OnnxReference(m)
            return -float(np.mean([np.linalg.norm(ref.run(x)[0] - y) /
                                   max(np.linalg.norm(y), 1e-30)
                                   for x, y in zip(xs, expected)]))
    return model, metric


def _cache_file(path: Path, what: str) -> Path:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    base = os.environ.get("SD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                      "smartdeal")
    return Path(base) / "data" / f"{what}-{digest}.json"


def predictions(real, outputs, path: Path) -> List[str]:
    """What each output means: the text read (recognizer, surrounding spaces
    stripped) or the orientation class name (classifier)."""
    if task(real) == "words":
        from ..data import ocr_rec

        chars = ocr_rec.dictionary(path)
        return [ocr_rec.decode(np.asarray(y).reshape(-1, len(chars)), chars).strip()
                for y in outputs]
    from ..data import ocr_cls

    return [ocr_cls.CLASSES[int(np.asarray(y).reshape(-1).argmax())] for y in outputs]


def _score(real, run_batch, path: Path, sample):
    """(Accuracy, per-sample predictions) of `run_batch` (inputs -> outputs)."""
    from ..data.stats import Accuracy

    got = predictions(real, run_batch([s.x for s in sample]), path)
    return Accuracy(sum(g == s.label for g, s in zip(got, sample)), len(sample)), got


def original_predictions(path: Path, real, sample, log=print) -> List[str]:
    """The original model's predictions on the test `sample`, cached on disk
    by the model file and the samples' labels and pixels."""
    inputs = hashlib.sha256()
    for smp in sample:
        inputs.update(smp.label.encode() + b"\0" + smp.x.tobytes())
    cache = _cache_file(path, f"{task(real)}-{inputs.hexdigest()[:16]}")
    if cache.exists():
        try:
            got = json.loads(cache.read_text())
            if len(got) == len(sample):
                return got
        except ValueError:
            pass
    log(f"    original model on {len(sample)} test inputs (cached afterwards)")
    _, got = _score(real, ort.runner(Path(path)), path, sample)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(got))
    os.replace(tmp, cache)
    return got


def evaluate(path: Path, exported: Path, real, count: int, library: Optional[Path] = None,
             result_rank: int = 0, seed: int = 0, log=print,
             shapes: Optional[List[List[int]]] = None) -> Dict:
    """The test-split measure of the original (`path`), the exported float
    model and, when given, the compiled library on the same inputs. The
    original's predictions are cached by model file and sample set."""
    from ..data.stats import Accuracy
    from ..importers.onnx_reference import OnnxReference

    import onnx

    ref_a, ref_b = OnnxReference(str(path)), OnnxReference(str(exported))
    # An input is one array, or a list of them in graph order (the order of
    # the compiled @main's arguments) for models with several inputs.
    names = [n for n, _ in graph_inputs(onnx.load(str(path)), real)]
    consts = constant_feeds(real)

    def as_list(x):
        return x if isinstance(x, list) else [x]

    def onnx_run(ref):
        return lambda x: np.asarray(ref.run(dict(consts, **dict(zip(names, as_list(x)))))[0])

    lib_run = None
    if library is not None:
        lib_run = lambda x: aot.call(str(library), "main", as_list(x), result_rank)  # noqa: E731
    kind = task(real)
    out: Dict = {"task": kind}
    if kind == "regions":
        from ..data import ocr_det

        xs = ocr_det.inputs("test", count, seed)
        ya = ort.runner(Path(path))(xs)
        ious = [ocr_det.region_iou(a, b) for a, b in zip(ya, ort.runner(Path(exported))(xs))]
        out.update(metric="text-region agreement (IoU of the probability maps "
                   f"thresholded at {ocr_det.THRESHOLD})", split="test", n=count,
                   iou=float(np.mean(ious)), iou_min=float(np.min(ious)))
        if lib_run is not None:
            lib = [ocr_det.region_iou(a, lib_run(x)) for a, x in zip(ya, xs)]
            out["library_iou"] = float(np.mean(lib))
        out["broken"] = bool(min(out["iou"], out.get("library_iou", 1.0)) < BROKEN_IOU)
        x = xs[0]
    elif kind == "output":
        xs = [[d[n] for n in names]
              for d in split_inputs(path, real, "test", count, seed, shapes)]
        xs = [x[0] if len(x) == 1 else x for x in xs]
        errs, lib_errs = [], []
        for x in xs:
            ya, yb = onnx_run(ref_a)(x), onnx_run(ref_b)(x)
            errs.append(np.linalg.norm(yb - ya) / max(np.linalg.norm(ya), 1e-30))
            if lib_run is not None:
                yl = lib_run(x)
                lib_errs.append(np.linalg.norm(yl - ya) / max(np.linalg.norm(ya), 1e-30))
        out.update(metric=f"output relative error on {count} seeded normal inputs",
                   split="test (seeded normal inputs)", n=count,
                   output_relative_error=float(np.mean(errs)))
        if lib_errs:
            out["library_relative_error"] = float(np.mean(lib_errs))
        out["broken"] = bool(out["output_relative_error"] > BROKEN_ERROR or
                             out.get("library_relative_error", 0.0) > BROKEN_ERROR)
        x = xs[0]
    else:
        sample = data_module(real).samples("test", count, seed)
        original = original_predictions(path, real, sample, log)
        acc_a = Accuracy(sum(g == s.label for g, s in zip(original, sample)), count)
        log(f"    exported float model on {count} test inputs")
        acc_b, got_b = _score(real, ort.runner(Path(exported)), path, sample)
        out.update(metric={"words": "word accuracy", "orientation":
                           "orientation accuracy"}[kind],
                   split="test", n=count, original=acc_a.as_dict(),
                   compressed=acc_b.as_dict(),
                   agreement=float(np.mean([a == b for a, b in zip(original, got_b)])))
        if lib_run is not None:
            log(f"    compiled library (libmodel.so) on {count} test inputs")
            acc_l, got_l = _score(real, lambda xs: [lib_run(x) for x in xs], path, sample)
            out["library"] = acc_l.as_dict()
            out["library_agreement"] = float(np.mean([a == b for a, b in zip(got_b, got_l)]))
        worst = min(acc_b.value, out.get("library", {}).get("value", 1.0))
        out["drop"] = acc_a.value - acc_b.value
        out["broken"] = bool(acc_a.value - worst > BROKEN_DROP)
        x = sample[0].x
    ya, yb = onnx_run(ref_a)(x), onnx_run(ref_b)(x)
    out["output_relative_error"] = out.get("output_relative_error") or float(
        np.linalg.norm(yb - ya) / max(np.linalg.norm(ya), 1e-30))
    out["example_input"], out["example_output"] = x, yb
    return out


def broken_reason(q: Dict) -> str:
    """Why an `evaluate` result counts as broken, in a few words."""
    if q["task"] == "regions":
        return (f"text regions overlap the original's by "
                f"{min(q['iou'], q.get('library_iou', 1.0)):.3f} < {BROKEN_IOU}")
    if q["task"] == "output":
        return f"output relative error {q['output_relative_error']:.3f} > {BROKEN_ERROR}"
    worst = min(q["compressed"]["value"], q.get("library", {}).get("value", 1.0))
    return (f"{q['metric']} drops by {100 * (q['original']['value'] - worst):.1f} points "
            f"> {100 * BROKEN_DROP:.0f}")


def describe(q: Dict) -> List[str]:
    """Report lines for an `evaluate` result."""
    from ..data.stats import Accuracy

    lines = []
    if q["task"] == "regions":
        lines.append(f"- {q['metric']} on {q['n']} realistic test pages: exported model "
                     f"{q['iou']:.3f} (worst page {q['iou_min']:.3f})"
                     + (f", libmodel.so {q['library_iou']:.3f}" if "library_iou" in q
                        else ""))
        return lines
    if q["task"] == "output":
        lines.append(f"- {q['metric']}: exported model {q['output_relative_error']:.4f}"
                     + (f", libmodel.so {q['library_relative_error']:.4f}"
                        if "library_relative_error" in q else ""))
        return lines
    a, b = (Accuracy(q[k]["hits"], q[k]["n"]) for k in ("original", "compressed"))
    lines.append(f"- {q['metric']} on the realistic test split ({q['n']} inputs, fonts and "
                 f"words unseen by calibration and search; 95 % interval): original {a}, "
                 f"exported compressed model {b} ({100 * (b.value - a.value):+.1f} points)")
    if "library" in q:
        l = Accuracy(q["library"]["hits"], q["library"]["n"])
        lines.append(f"- the same through the compiled libmodel.so: {l} "
                     f"(agrees with the exported model on {q['library_agreement']:.1%})")
    return lines
