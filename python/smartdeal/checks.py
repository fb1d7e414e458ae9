"""Checks of the driver's arguments, plan file and output path, made before
any work starts so that bad input ends in one `error:` line naming the
problem and nothing is written."""

import json
import math
import os
from pathlib import Path
from typing import List, Optional


class InputError(ValueError):
    """Bad input named by the user: the message says what and where."""


def _kind(value) -> str:
    """How a JSON value reads in a message: 'a string', 'a list', ..."""
    return {str: "a string", list: "a list", dict: "an object", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(
                type(value), type(value).__name__)


def load_plan(path: Path) -> dict:
    """The plan file at `path`, checked for the shape every later step reads:
    an object whose optional `defaults` maps option names to numbers,
    booleans or strings and whose optional `layers` maps layer names to
    objects of such settings. The values themselves are checked where they
    are used (plan forms here, options by sd-opt)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"cannot read plan file {path}: {e.strerror or e}") from None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    if not isinstance(plan, dict):
        raise InputError(f"{path}: a plan must be a JSON object "
                         f"{{\"defaults\": {{...}}, \"layers\": {{...}}}}, got {_kind(plan)}")
    def settings(where: str, value, what: str) -> None:
        if not isinstance(value, dict):
            raise InputError(f"{path}: {where} must be {what}, got {_kind(value)}")
        for key, v in value.items():
            if not isinstance(v, (int, float, str, bool)):
                raise InputError(f"{path}: {where}.{key} must be a number, boolean "
                                 f"or string, got {_kind(v)}")

    settings("defaults", plan.get("defaults", {}), "an object of option values")
    layers = plan.get("layers", {})
    if not isinstance(layers, dict):
        raise InputError(f"{path}: 'layers' must be an object mapping layer names "
                         f"to settings, got {_kind(layers)}")
    for name, entry in layers.items():
        settings(f"layers.{name}", entry, "an object of settings")
    return plan


def check_numbers(args) -> None:
    """Counts and thresholds on the command line are in range."""
    for flag, value, low in (("--samples", args.samples, 1),
                             ("--calibration", args.calibration, 1),
                             ("--min-size", args.min_size, 0),
                             ("--rounds", args.rounds, 0)):
        if value < low:
            raise InputError(f"{flag} must be at least {low}, got {value}")
    for flag, value in (("--threshold", args.threshold), ("--budget", args.budget)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"{flag} must be a finite number >= 0, got {value}")


def check_model_file(path: Path) -> None:
    """A model file the importers can start on: not empty."""
    if path.is_dir():
        raise InputError(f"model {path} is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"model file {path} is empty")
    if path.suffix == ".mlir":
        text = path.read_text(errors="replace")
        if not any(line.strip() and not line.strip().startswith("//")
                   for line in text.splitlines()):
            raise InputError(f"model file {path} holds no IR (only blank lines "
                             "and comments)")


def missing_folders(out_dir: Path) -> List[Path]:
    """The folders above `out_dir` (not itself) that do not exist yet,
    outermost first; checks that the nearest existing one is a writable
    folder and that `out_dir` is not a file."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"-o {out_dir}: exists and is not a folder")
    missing: List[Path] = []
    parent = out_dir.absolute().parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"-o {out_dir}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"-o {out_dir}: cannot write in {parent}")
    return missing[::-1]


def remove_folders(created: List[Path]) -> None:
    """Removes the folders `missing_folders` listed, innermost first, where
    they are still empty (a failed run leaves nothing behind)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


def no_layers_message(path, report: Optional[dict]) -> Optional[str]:
    """Why a model with nothing to compress is refused, or None."""
    if report is not None and report.get("layers"):
        return None
    return (f"{path} has no linear or convolution layer with a constant weight: "
            "nothing to compress")
