"""SmartDeal-MLIR's Python front end: model importers, the CPU runner, model locations.

`import_torch(module, example_inputs)` and `import_onnx(path)` return
linalg-on-tensors MLIR text that `sd-opt` compresses; `runner.run_mlir`
executes a module's `@main` on the CPU through sd-opt and mlir-runner.
"""

__all__ = [
    "FX",
    "TORCHSCRIPT",
    "UnsupportedError",
    "import_onnx",
    "import_torch",
]

from .importers import (  # noqa: F401
    FX,
    TORCHSCRIPT,
    UnsupportedError,
    import_onnx,
    import_torch,
)
