"""``neon.logger``: the ``neon`` logger with neon's ``DISPLAY`` level (41) and ``display()``."""

from __future__ import annotations

import logging

__all__ = ["DISPLAY", "neon_logger"]

DISPLAY = 41
logging.addLevelName(DISPLAY, "DISPLAY")
neon_logger = logging.getLogger("neon")


def _display(message: str, *args: object) -> None:
    """Log at ``DISPLAY``, above ERROR, so it shows at neon's default threshold."""
    neon_logger.log(DISPLAY, message, *args)


neon_logger.display = _display  # type: ignore[attr-defined]
