# torchvision ResNet-18 and MobileNetV2 (random weights, 32x32 input) from
# PyTorch through the named pipelines, no hand-written IR: import ->
# --sd-compress (plan file) -> calibration statistics -> --sd-to-accelerator
# (quantize, schedule, partition, contract check) -> hybrid artifact (host
# library + one program per segment, smartdeal.runtime.hybrid). On two
# inputs the whole model on host + sd-sim equals the CPU quantized mode (the
# same partitioned module compiled whole by the CPU backend) bit for bit.
# ResNet-18 runs entirely on the accelerator, as one program, which
# round-trips through the sdacc dialect byte for byte. About three minutes.
#
# REQUIRES: torch, torchvision
# RUN: %PYTHON %s %t

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

from smartdeal import import_torch
from smartdeal.accel import calibration_stats
from smartdeal.runtime import aot, hybrid, runner

work = Path(sys.argv[1])
sd_opt = runner.find_sd_opt()
tools = Path(sd_opt).parent


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def compile_model(name):
    """The model's partitioned module, its quantize report and the inputs."""
    tmp = work / name
    tmp.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    rng = np.random.default_rng(0)
    calib = [(rng.standard_normal((1, 3, 32, 32)).astype(np.float32),)
             for _ in range(4)]
    calibration_stats.write_stats(
        tmp / "stats.json", calibration_stats.torch_stats(model, calib), 4)
    import_torch(model, (torch.from_numpy(calib[0][0]),),
                 output=str(tmp / "model.mlir"))
    # 7 exponent levels: the 4-bit Ce codes of the default hardware.
    (tmp / "plan.json").write_text(json.dumps(
        {"defaults": {"min-size": 64, "min-exp": -4, "max-exp": 2}}))
    subprocess.run([sd_opt, tmp / "model.mlir",
                    f"--sd-compress=plan={tmp / 'plan.json'}",
                    f"--sd-to-accelerator=stats={tmp / 'stats.json'} "
                    f"report={tmp / 'q.json'}",
                    "-o", tmp / "q.mlir"], check=True, capture_output=True)
    report = json.loads((tmp / "q.json").read_text())
    names = hybrid.build(tmp / "q.mlir", tmp / "artifact")
    hybrid.compile_library(tmp / "q.mlir", tmp / "cpu.so")
    xs = [rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
          for _ in range(2)]
    for x in xs:
        want = aot.call(str(tmp / "cpu.so"), "main", [x], 2)
        got, run = hybrid.run(tmp / "artifact", [x], 2)
        assert want.shape == (1, 1000), want.shape
        assert np.array_equal(bits(got), bits(want)), f"{name}: hybrid != CPU"
        assert run["total"]["cycles"] > 0
    targets = [o["target"] for o in report["ops"]]
    print(f"{name}: {targets.count('accelerator')} ops on the accelerator, "
          f"{len(targets) - targets.count('accelerator')} on the host, "
          f"{len(names)} segments; bit-exact on {len(xs)} inputs")
    return tmp, report, names


tmp, report, names = compile_model("resnet18")
# Every convolution (BatchNorm folded), residual add, pooling and the
# classifier: one segment.
assert all(o["target"] == "accelerator" for o in report["ops"]), [
    o for o in report["ops"] if o["target"] != "accelerator"]
assert names == ["main_acc0"], names
program = tmp / "artifact" / "main_acc0.sdacc"
subprocess.run([tools / "sd-translate", "--import-sdacc", program, "-o",
                tmp / "program.mlir"], check=True)
subprocess.run([tools / "sd-translate", "--export-sdacc", tmp / "program.mlir",
                "-o", tmp / "back.sdacc"], check=True)
assert (tmp / "back.sdacc").read_bytes() == program.read_bytes()

# MobileNetV2: ReLU6 and the tensors without a calibration name stay on the
# host (sd-quantize's remarks say why), between accelerator segments.
tmp, report, names = compile_model("mobilenet_v2")
assert len(names) > 1, names
print("ok")
