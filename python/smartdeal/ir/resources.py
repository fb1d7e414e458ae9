"""Encode and decode weight data as MLIR `dense_resource` blobs and inline hex."""

from __future__ import annotations

import re
from typing import Dict, Iterable, TextIO

import numpy as np

__all__ = [
    "F32_ALIGNMENT_PREFIX",
    "I8_ALIGNMENT_PREFIX",
    "decode_resource_hex",
    "f32_bytes",
    "identifier_safe",
    "inline_hex",
    "parse_resource_section",
    "replace_blob",
    "resource_hex",
    "write_resource_section",
]

# MLIR's builtin resource blobs start with the alignment as a little-endian
# uint32; f32 data needs 4.
F32_ALIGNMENT_PREFIX = "04000000"

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def identifier_safe(name: str, prefix: str = "") -> str:
    """Turn a framework parameter name into a bare MLIR identifier.

    Resource keys are printed unquoted, so they must be bare identifiers:
    letters, digits and underscores, not starting with a digit. Keeping the
    framework's name (`fc1.weight` -> `torch_tensor_fc1_weight`) lets the
    compressor's reports be traced back to the model's own parameters.
    """
    safe = _UNSAFE.sub("_", prefix + name)
    if not safe or safe[0].isdigit():
        safe = "_" + safe
    return safe


def f32_bytes(array: np.ndarray) -> bytes:
    """Little-endian float32 bytes in row-major order (what MLIR expects)."""
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def resource_hex(array: np.ndarray) -> str:
    """The quoted blob value of a `dense_resource` entry: alignment + data."""
    return "0x" + F32_ALIGNMENT_PREFIX + f32_bytes(array).hex().upper()


def inline_hex(array: np.ndarray) -> str:
    """The payload of `dense<"0x...">`: raw data, no alignment word."""
    return "0x" + f32_bytes(array).hex().upper()


def decode_resource_hex(blob: str, shape: Iterable[int]) -> np.ndarray:
    """Inverse of `resource_hex`, used by tests to read weights back."""
    text = blob.strip().strip('"')
    if not text.startswith("0x"):
        raise ValueError("resource blob must start with 0x")
    raw = bytes.fromhex(text[2:])
    if raw[:4] != bytes.fromhex(F32_ALIGNMENT_PREFIX):
        raise ValueError("resource blob does not start with alignment 4")
    return np.frombuffer(raw[4:], dtype="<f4").reshape(tuple(shape)).copy()


def write_resource_section(out: TextIO, blobs: Dict[str, np.ndarray]) -> None:
    """Write the `{-# dialect_resources ... #-}` trailer, one blob per line.

    Streams each blob instead of building one string, because VGG-16's
    weights alone are about a gigabyte of hex.
    """
    if not blobs:
        return
    out.write("\n{-#\n  dialect_resources: {\n    builtin: {\n")
    names = list(blobs)
    for i, name in enumerate(names):
        out.write(f'      {name}: "0x{F32_ALIGNMENT_PREFIX}')
        data = f32_bytes(blobs[name])
        chunk = 1 << 22
        for start in range(0, len(data), chunk):
            out.write(data[start : start + chunk].hex().upper())
        out.write('"' + ("," if i + 1 < len(names) else "") + "\n")
    out.write("    }\n  }\n#-}\n")


_RESOURCE_LINE = re.compile(r'^\s*([A-Za-z_][\w.$-]*)\s*:\s*"(0x[0-9A-Fa-f]*)"')


def parse_resource_section(text: str) -> Dict[str, bytes]:
    """Raw blob bytes (alignment word stripped) by name, from module text."""
    start = text.rfind("{-#")
    if start < 0:
        return {}
    blobs = {}
    for line in text[start:].splitlines():
        m = _RESOURCE_LINE.match(line)
        if m:
            blobs[m.group(1)] = bytes.fromhex(m.group(2)[2:])[4:]
    return blobs


# The alignment word of int8 blobs (Ce codes).
I8_ALIGNMENT_PREFIX = "01000000"


def replace_blob(text: str, key: str, data: bytes, alignment_prefix: str) -> str:
    """Module text with the blob named `key` holding `data` (after the
    alignment word `alignment_prefix`); other blobs are left as they are."""
    value = "0x" + alignment_prefix + data.hex().upper()
    return re.sub(rf'(\s{re.escape(key)}: ")0x[0-9A-Fa-f]+(")',
                  lambda m: m.group(1) + value + m.group(2), text)
