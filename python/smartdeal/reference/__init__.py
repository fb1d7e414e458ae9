"""Pure-NumPy reference implementations, used only by tests and benchmarks.

`smartexchange` re-implements the SmartExchange decomposition the way the
authors' reference code runs it (numpy.linalg.lstsq and all), independently of
the C++ library in lib/Compression, so the two can be compared.
"""

from .smartexchange import (  # noqa: F401
    DEFAULT_MAX_BLOCK_ROWS,
    BlockLayout,
    codes_from_values,
    decompose_block,
    decompose_weight,
    pow2,
    quantize,
    rebuild_dense,
    storage_bits,
    structured_row_mask,
    values_from_codes,
)
