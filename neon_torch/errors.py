"""The neon_torch exception family.

Every error raised on bad user input derives from :class:`NeonTorchError` *and* from the
built-in exception a Python user would expect (``ValueError``, ``KeyError``, ...), so code can
catch it either way. Messages say what was received, what was expected and how to fix it.
"""

from __future__ import annotations

import warnings

__all__ = [
    "BackendError",
    "LayerConfigError",
    "NeonCompatWarning",
    "NeonTorchError",
    "NotConfiguredError",
    "PrmFormatError",
    "ShapeMismatchError",
    "UnknownNeonTypeError",
    "UnsafePickleError",
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


class LayerConfigError(NeonTorchError, ValueError):
    """A layer constructor argument neon would not accept (unknown key, option or value)."""


class PrmFormatError(NeonTorchError, ValueError):
    """A parameter file that cannot be read: empty, truncated, corrupted, of an unknown kind or
    written by a newer neon_torch (``format_version`` above what this version reads)."""


class UnsafePickleError(PrmFormatError):
    """A legacy pickle that asks for something outside the allow-list (any global other than
    numpy array reconstruction and plain containers, or an object array); nothing was run."""


class UnsupportedNeonFeature(NeonTorchError, NotImplementedError):
    """A neon feature or option that neon_torch does not provide."""


class NeonCompatWarning(UserWarning):
    """A neon option that is accepted but has no effect on PyTorch, or a known deviation."""


_warned: set[str] = set()


def reset_warnings() -> None:
    """Forget which :func:`warn_once` keys were seen (``cleanup_backend`` calls it)."""
    _warned.clear()


def warn_once(key: str, message: str) -> None:
    """Emit ``message`` as a :class:`NeonCompatWarning` the first time ``key`` is seen."""
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, NeonCompatWarning, stacklevel=3)
