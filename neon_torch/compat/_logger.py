"""``neon.logger``: the ``neon`` logger with neon's ``DISPLAY`` level (41) and ``display()``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

__all__ = ["DISPLAY", "neon_logger"]

DISPLAY = 41
logging.addLevelName(DISPLAY, "DISPLAY")

if TYPE_CHECKING:

    class _NeonLogger(logging.Logger):
        """What the checker sees: a Logger with neon's ``display`` (added below)."""

        def display(self, message: str, *args: object) -> None: ...


neon_logger = cast("_NeonLogger", logging.getLogger("neon"))


def _display(message: str, *args: object) -> None:
    """Log at ``DISPLAY``, above ERROR, so it shows at neon's default threshold."""
    neon_logger.log(DISPLAY, message, *args)


neon_logger.display = _display  # type: ignore[method-assign]  # neon adds it to its logger
