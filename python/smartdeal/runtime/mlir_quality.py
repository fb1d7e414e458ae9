"""Output fidelity of a compressed `.mlir` model (torch-mlir's linalg form).

An `.mlir` input has no framework model to run, so both modules run on the
CPU through sd-opt and mlir-runner on the same random input of the entry
function's shape: the original with upstream's lowering
(--sd-tensor-to-llvm), the compressed one through the reference lowering of
the sd ops (--sd-reference-to-llvm, the dense rebuild). The compressed
model's reference output is what the driver then checks the compiled CPU
kernels (--sd-cpu-to-llvm) against, as it checks them against the exported
model for ONNX inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import runner


def evaluate_mlir(original: Path, compressed: Path, sd_opt: str, seed: int = 0) -> dict:
    """{metric, output_relative_error, example_input, example_output} for
    the first input and output of the entry function."""
    text = Path(original).read_text()
    shapes, _ = runner.main_signature(text)
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    dense = runner.run_mlir(text, xs, sd_opt=sd_opt, pipeline="--sd-tensor-to-llvm")
    ref = runner.run_mlir(compressed, xs, sd_opt=sd_opt,
                          pipeline="--sd-reference-to-llvm")
    ya, yb = dense.outputs[0], ref.outputs[0]
    return {"metric": f"output fidelity on a random input (seed {seed}) against "
                      "the original module",
            "output_relative_error": float(np.linalg.norm(yb - ya) /
                                           max(np.linalg.norm(ya), 1e-30)),
            "example_input": xs[0] if len(xs) == 1 else xs,
            "example_output": yb}
