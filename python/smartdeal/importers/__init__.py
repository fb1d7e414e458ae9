"""Front ends that turn PyTorch modules and ONNX files into linalg-on-tensors MLIR.

Both follow torch-mlir's linalg-on-tensors output contract (see
docs/importers.md): one `func.func @main` on static f32 tensors, weights as
`arith.constant dense_resource<NAME>` with the blobs in a trailing
`dialect_resources` section, and `loc("<layer>")` on every op of a layer.
"""

__all__ = ["FX", "TORCHSCRIPT", "UnsupportedError", "import_onnx", "import_torch"]

from ..ir.emitter import FX, TORCHSCRIPT  # noqa: F401
from .errors import UnsupportedError  # noqa: F401


def import_torch(*args, **kwargs):
    """See torch_importer.import_torch (imported lazily: torch is heavy)."""
    from .torch_importer import import_torch as impl

    return impl(*args, **kwargs)


def import_onnx(*args, **kwargs):
    """See onnx_importer.import_onnx (imported lazily: onnx is heavy)."""
    from .onnx_importer import import_onnx as impl

    return impl(*args, **kwargs)
