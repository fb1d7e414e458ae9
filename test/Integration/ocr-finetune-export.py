# A fine-tuned PP-OCRv4 recognizer exported into sd IR with its trained Ce
# and B (smartdeal.training.onnx_export): a tiny plan (two SE layers, a 1x1
# conv and a MatMul, with 4- and 8-level exponent ranges; one depthwise conv
# int5; the rest dense) trained a few distillation steps, exported, and the
# IR's codes read back must be exactly the trained ones per layer (they are
# not what sd-decompose makes of the same ONNX: checked), the CPU backend's
# outputs equal the module's on two rendered words, and both SE layers run
# bit-exact on sd-sim against the CPU backend's quantized mode. A layout
# mismatch is an error. About 40 s.
#
# REQUIRES: ocr-rec, torch, onnx, ocr-data
# RUN: env SD_DECOMPOSE_DRIVER=%sd_obj_root/bin/sd-decompose-ref-driver %PYTHON %s %t

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from smartdeal import importers, models
from smartdeal.data import ocr_rec as ocr
from smartdeal.ir.resources import identifier_safe, parse_resource_section
from smartdeal.plan import planfile
from smartdeal.runtime import runner
from smartdeal.runtime.export import ExportError
from smartdeal.training import onnx_export
from smartdeal.training.decompose import decompose_weight
from smartdeal.training.onnx_module import OnnxModule

torch.set_num_threads(1)  # 2 threads crawl when the cores are shared
torch.manual_seed(0)
T0 = time.time()


def log(message):
    print(f"[{time.time() - T0:4.0f} s] {message}", flush=True)


work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
real = models.MODELS["ocr-rec"]
dense = OnnxModule(str(real.path))
module = OnnxModule(str(real.path))
plan = {"p2o.Conv.4": {"form": "se", "threshold": 1e-3, "min-exp": -4, "max-exp": -1},
        "p2o.MatMul.8": {"form": "se", "threshold": 1e-3, "min-exp": -5, "max-exp": 2},
        "p2o.Conv.5": {"form": "int", "bits": 5}}
start = {}
for name, p in plan.items():
    if p["form"] == "se":
        w = module.layer(name).weight().detach().numpy()
        codes, basis, _ = decompose_weight(w, p["threshold"], (p["min-exp"], p["max-exp"]))
        module.set_se(name, codes, basis, p["min-exp"], p["max-exp"])
        start[name] = module.layer(name).codes()
    else:
        module.set_int(name, p["bits"])

# A few distillation steps; the Ce latents' large step moves codes across
# their rounding boundaries, so the trained codes differ from the start.
words = ["garden", "Tuesday"]
x = torch.from_numpy(np.concatenate([ocr.render_clean(w) for w in words]))
with torch.no_grad():
    teacher = torch.log_softmax(dense(x, ["p2o.Add.277"])[0], -1)
ce = [p for n, p in module.named_parameters() if n.endswith(".ce")]
rest = [p for n, p in module.named_parameters() if not n.endswith(".ce")]
opt = torch.optim.Adam([{"params": rest, "lr": 1e-4}, {"params": ce, "lr": 1e-2}])
for _ in range(3):
    logp = torch.log_softmax(module(x, ["p2o.Add.277"])[0], -1)
    loss = (teacher.exp() * (teacher - logp)).sum(-1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
for name in start:
    changed = int((module.layer(name).codes() != start[name]).sum())
    assert changed > 0, f"{name}: training changed no code"
    log(f"{name}: {changed} codes changed by training")

log("trained")
# Batch 2: both words in one run of the IR.
shape = {"x": [len(words), 3, 48, 320]}
exported = onnx_export.export_module(module, plan, work / "export", shape)
log("exported")
report = json.loads(exported.report.read_text())
forms = {l["name"]: l["form"] for l in report["layers"]}
assert forms["p2o.Conv.4"] == forms["p2o.MatMul.8"] == "se", forms
assert forms["p2o.Conv.5"] == "int5" and forms["p2o.Conv.6"] == "dense", forms

# The IR's codes and bases, read back per layer, are the trained ones. An
# export that re-decomposed would not pass: sd-decompose alone, with the same
# plan, on the exported ONNX gives other codes for both layers.
importers.import_onnx(str(exported.onnx), output=str(work / "model.mlir"),
                      input_shapes=shape, fold_batchnorm=False)
subprocess.run(planfile.compress_command("sd-opt", work / "model.mlir", exported.plan, 1024,
                                         None, work), check=True, capture_output=True)
blobs = parse_resource_section(exported.mlir.read_text())
again = parse_resource_section((work / "compressed.mlir").read_text())
for name in start:
    layer = module.layer(name)
    key = identifier_safe(name)
    got = np.frombuffer(blobs[key + "_ce"], np.int8).reshape(layer.codes().shape)
    np.testing.assert_array_equal(got, layer.codes())
    basis = np.frombuffer(blobs[key + "_b"], "<f4").reshape(layer.basis_array().shape)
    np.testing.assert_array_equal(basis, layer.basis_array())
    redone = np.frombuffer(again[key + "_ce"], np.int8).reshape(got.shape)
    assert (redone != got).any(), f"{name}: re-decomposition gives the trained codes"
log("IR codes and bases: the trained ones, not a re-decomposition")

# The CPU backend (the driver's check path) against the module on 2 words;
# the dense model alone differs by ~6e-5 (float rounding through 100 ops).
module.eval()
with torch.no_grad():
    want = module(x)[0].numpy()
got = onnx_export.run_jit(exported, x.numpy())
chars = ocr.dictionary(real.path)
for i, w in enumerate(words):
    err = runner.relative_error(got[i], want[i])
    read = ocr.decode(got[i], chars).strip()
    log(f"{w}: CPU backend vs module {err:.1e}, reads '{read}'")
    assert err < 2e-4 and read == ocr.decode(want[i], chars).strip(), (err, read)

# Both SE layers on sd-sim, bit-exact against the CPU backend's quantized mode.
sim = onnx_export.simulate(exported)
log(f"simulator: {[(c['name'], c['mismatches'], c['outputs']) for c in sim['checks']]}")
assert len(sim["checks"]) == 2 and sim["bit_exact"], sim["checks"]

# A layout the trained codes do not fit is an error, not a silent rewrite.
wrong = dict(plan, **{"p2o.Conv.4": dict(plan["p2o.Conv.4"], **{"block-rows": 4})})
try:
    onnx_export.export_module(module, wrong, work / "wrong", shape)
    raise AssertionError("a layout mismatch was exported")
except ExportError as e:
    log(f"layout mismatch: {str(e).splitlines()[0]}")
log("ok")
