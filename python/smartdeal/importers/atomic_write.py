"""Write an output file all-or-nothing, so a failed import leaves no partial file."""

from __future__ import annotations

import os
import tempfile
from typing import Callable, TextIO, Union


def write_atomically(
    path: Union[str, os.PathLike], write: Callable[[TextIO], None]
) -> None:
    """Call `write` on a temporary file next to `path`, then rename it.

    The rename is atomic on one filesystem, and the temporary file is removed
    if `write` raises, so readers only ever see a complete module.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sd-import-", suffix=".mlir", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            write(f)
        # mkstemp makes the file private; give it the usual umask mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
