"""aeon's configuration dictionaries: the loader keys, their defaults and the checks aeon made.

aeon rejected a key it did not know; so does this module, with the list of keys it accepts.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ...errors import NeonTorchError

__all__ = [
    "LOADER_DEFAULTS",
    "AeonConfigError",
    "MissingDecoderError",
    "check_keys",
    "import_decoder",
]


class AeonConfigError(NeonTorchError, ValueError):
    """An aeon configuration aeon itself would have refused (unknown key, bad value)."""


class MissingDecoderError(NeonTorchError, ImportError):
    """The optional package that decodes a media type (Pillow, soundfile, av) is not installed."""


#: The top-level keys of aeon's loader configuration and their defaults (``None``: required;
#: the same convention holds for the etl and augmentation key tables).
LOADER_DEFAULTS: dict[str, Any] = {
    "manifest_filename": None,
    "manifest_root": "",
    "batch_size": None,
    "cache_directory": "",
    "block_size": 5000,
    "batch_major": True,
    "subset_fraction": 1.0,
    "shuffle_enable": False,
    "shuffle_manifest": False,
    "decode_thread_count": 0,
    "pinned": False,
    "random_seed": 0,
    "iteration_mode": "ONCE",
    "iteration_mode_count": 0,
    "web_server_port": 0,
    "etl": None,
    "augmentation": [],
    "ssd_config": {},  # written by neon's SSD ingest; aeon ignored it
}


def check_keys(where: str, given: Mapping[str, Any], allowed: Mapping[str, Any]) -> dict[str, Any]:
    """``allowed`` (defaults) updated with ``given``; unknown or missing required keys raise."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise AeonConfigError(
            f"aeon {where} config: unknown key(s) {unknown}; expected some of "
            f"{sorted(allowed)}. Remove or rename them."
        )
    out = dict(allowed)
    out.update(given)
    missing = sorted(k for k, v in out.items() if v is None and allowed[k] is None)
    if missing:
        raise AeonConfigError(
            f"aeon {where} config: required key(s) {missing} missing; add them to the config."
        )
    return out


_EXTRAS = {"PIL": "image", "soundfile": "audio", "av": "video"}


def import_decoder(module: str, what: str) -> Any:
    """Import the optional decoder package ``module`` or raise :class:`MissingDecoderError`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        package = {"PIL": "Pillow"}.get(top, top)
        raise MissingDecoderError(
            f"aeon {what} data needs the '{package}' package, which is not installed; install "
            f"it with `pip install {package}` or `pip install neon_torch[{_EXTRAS[top]}]`."
        ) from None
