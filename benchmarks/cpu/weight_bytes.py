#!/usr/bin/env python3
"""Bytes of constant data (weights, codes, bases, scales, biases) in compiled libraries.

The counting rule lives in `smartdeal.runtime.artifact.weight_bytes` (the
driver's report uses the same one); this is its command line.

    python3 benchmarks/cpu/weight_bytes.py libmodel.so...
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from smartdeal.runtime.artifact import weight_bytes  # noqa: E402

library_weight_bytes = weight_bytes

if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"{p}: {weight_bytes(p)} bytes of constant data")
