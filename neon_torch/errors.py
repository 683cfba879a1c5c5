"""The neon_torch exception family.

Every error raised on bad user input derives from :class:`NeonTorchError` *and* from the
built-in exception a Python user would expect (``ValueError``, ``KeyError``, ...), so code can
catch it either way. Messages say what was received, what was expected and how to fix it.
"""

from __future__ import annotations

import warnings

__all__ = [
    "BackendError",
    "NeonCompatWarning",
    "NeonTorchError",
    "NotConfiguredError",
    "ShapeMismatchError",
    "UnknownNeonTypeError",
    "UnsupportedNeonFeature",
    "warn_once",
]


class NeonTorchError(Exception):
    """Base class of every error neon_torch raises on purpose."""


class NotConfiguredError(NeonTorchError, RuntimeError):
    """A layer or model was used before ``initialize`` / ``configure`` + ``allocate``."""


class ShapeMismatchError(NeonTorchError, ValueError):
    """Data or weights whose shape disagrees with the model."""


class BackendError(NeonTorchError, ValueError):
    """An unknown backend name, a missing device, or no backend at all."""


class UnknownNeonTypeError(NeonTorchError, KeyError):
    """A neon type string that the registry does not know."""

    def __str__(self) -> str:  # KeyError would quote the message; show it plainly
        return str(self.args[0]) if self.args else ""


class UnsupportedNeonFeature(NeonTorchError, NotImplementedError):
    """A neon feature or option that neon_torch does not provide."""


class NeonCompatWarning(UserWarning):
    """A neon option that is accepted but has no effect on PyTorch, or a known deviation."""


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Emit ``message`` as a :class:`NeonCompatWarning` the first time ``key`` is seen."""
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, NeonCompatWarning, stacklevel=3)
