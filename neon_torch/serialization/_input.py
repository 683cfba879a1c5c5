"""Open a parameter file for reading: regular files only, never blocking on a FIFO or device."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from ..errors import PrmFormatError

__all__ = ["open_regular"]


def open_regular(source: str) -> tuple[BinaryIO, int]:
    """``(binary file, size)`` for ``source`` after checking it is a regular file.

    The file is opened without blocking and checked through its descriptor, so a FIFO, a
    device or a directory is refused before a single byte is read.

    Raises:
        PrmFormatError: not a regular file. OSError: missing or unreadable.
    """
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(info.st_mode)
                else "a FIFO"
                if stat.S_ISFIFO(info.st_mode)
                else "a device or socket"
            )
            raise PrmFormatError(
                f"{source}: {kind}, not a regular file; parameter files are read from regular "
                "files only."
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise
