# Full ResNet-18 (torchvision shapes: 7x7 stem, max pooling, eight basic
# blocks with residual adds and 1x1 downsamples, global average pooling,
# the 1000-way classifier; random 4-bit codes with a quarter of the Ce rows
# zero, calibrated on one random input) as ONE accelerator program, which
# round-trips through its text form and the sdacc dialect byte for byte;
# sd-sim's 1000 outputs equal the CPU quantized mode's bit for bit. About half a
# minute (the CPU side is a JIT of scalar loops).
#
# REQUIRES: torch, torchvision
# RUN: %PYTHON %s %t

import subprocess
import sys
from pathlib import Path

from smartdeal.accel import network as accelnet

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
net, result, x = accelnet.torchvision_network("resnet18", None, work, -6, 0, 0.25)
model = net.mlir(result)
(work / "net.mlir").write_text(model)
subprocess.run(["sd-translate", "--sd-to-sdacc", str(work / "net.mlir"), "-o",
                str(work / "net.sdacc")], check=True)
# The text form read back through the sdacc dialect is the same file.
subprocess.run(["sd-translate", "--sd-to-sdacc-text", str(work / "net.mlir"),
                "-o", str(work / "net.txt")], check=True)
subprocess.run(["sd-translate", "--import-sdacc", str(work / "net.txt"), "-o",
                str(work / "net-ir.mlir")], check=True)
subprocess.run(["sd-translate", "--export-sdacc", str(work / "net-ir.mlir"),
                "-o", str(work / "back.sdacc")], check=True)
assert (work / "back.sdacc").read_bytes() == (work / "net.sdacc").read_bytes()
xq = accelnet.quantize_input(net, x)
sim, report = accelnet.run_sim(work / "net.sdacc", xq, work)
cpu = accelnet.run_cpu(model, xq, net.shapes[result], work)
diff = int((sim.reshape(cpu.shape) != cpu).sum())
print(f"{len(report['layers'])} layers, {report['instructions']} instructions, "
      f"{report['cycles']} cycles; {diff} of {cpu.size} outputs differ; "
      f"{len(set(cpu.reshape(-1).tolist()))} distinct values")
assert len(report["layers"]) == 31
assert diff == 0
assert len(set(cpu.reshape(-1).tolist())) > 20, "degenerate outputs"
print("PASS")
