#!/usr/bin/env python3
"""Bytes of constant data (weights, codes, bases, scales, biases) in a compiled library.

Every weight the CPU backend keeps is an MLIR `memref.global` constant, which
becomes a private LLVM global in the read-only data sections of the shared
library (no symbol of its own). This sums the sizes of those sections
(`llvm-size -A`: .rodata*, .lrodata*, .data*), so the figure is what the
artifact actually stores, not what a report says. The few vector constants
of the code itself are counted too (tens of bytes per kernel).

    python3 benchmarks/cpu/weight_bytes.py libmodel.so
"""

from __future__ import annotations

import subprocess
import sys

SIZE = "/usr/lib/llvm-22/bin/llvm-size"
DATA_SECTIONS = (".rodata", ".lrodata", ".data", ".ldata")


def library_sections(path):
    """(section, bytes) of the library's constant-data sections."""
    out = subprocess.run([SIZE, "-A", str(path)], check=True, capture_output=True,
                         text=True).stdout
    sections = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(DATA_SECTIONS) and \
                not parts[0].startswith(".data.rel"):
            sections.append((parts[0], int(parts[1])))
    return sections


def library_weight_bytes(path) -> int:
    return sum(size for _, size in library_sections(path))


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"{p}: {library_weight_bytes(p)} bytes of constant data")
