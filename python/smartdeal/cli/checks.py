"""Checks of the driver's arguments, model file and output path, made
before any work starts so that bad input ends in one `error:` line naming
the problem and nothing is written (the plan file is checked by
`plan.planfile.load_plan`)."""

import math
import os
from pathlib import Path
from typing import List, Optional


class InputError(ValueError):
    """Bad input named by the user: the message says what and where."""


def check_numbers(args) -> None:
    """Counts and thresholds on the command line are in range."""
    for flag, value, low in (("--samples", args.samples, 1),
                             ("--calibration", args.calibration, 1),
                             ("--min-size", args.min_size, 0),
                             ("--rounds", args.rounds, 0)):
        if value is not None and value < low:
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
