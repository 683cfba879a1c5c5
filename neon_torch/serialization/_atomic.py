"""Atomic file replacement: write a temporary file next to the target, fsync, rename.

The temporary file is named ``.<target name>.<writer pid>.<random>.tmp``. A writer killed
mid-save (``kill -9``, power loss) leaves exactly that one file; the next save to the same
target removes such files whose writer process no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces ``path`` in one step.

    The data goes to a temporary file in the same directory, is flushed and fsync'ed, and is
    then renamed over ``path`` (``os.replace``), so a crash or an exception mid-write leaves the
    previous file untouched; the temporary file is removed on failure. Missing parent
    directories are created, as neon's ``save_obj`` does.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; use the usual mode
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _remove_stale(target: Path) -> None:
    """Delete temporary files of earlier saves to ``target`` whose writer has died."""
    prefix = f".{target.name}."
    try:
        names = [e.name for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid_text, _, rest = name[len(prefix) :].partition(".")
        if not (pid_text.isdigit() and rest.endswith(".tmp")) or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(target.parent / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid: leave its file alone
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
