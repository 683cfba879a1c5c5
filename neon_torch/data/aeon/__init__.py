"""aeon, Nervana's manifest-driven data loader, reimplemented on torch DataLoader workers
(neon's ``neon.data.aeon_shim``).

``AeonDataLoader(config)`` reads aeon's configuration dictionaries (see
:class:`~neon_torch.data.aeon.loader.DataLoader`) and, by default, wraps the loader in
:class:`~neon_torch.data.dataloader_transformers.DataLoaderAdapter`, as neon did.
"""

from __future__ import annotations

from typing import Any

from ..dataloader_transformers import DataLoaderAdapter
from ._config import AeonConfigError, MissingDecoderError
from .loader import DataLoader

__all__ = [
    "AeonConfigError",
    "AeonDataLoader",
    "DataLoader",
    "DataLoaderAdapter",
    "MissingDecoderError",
]


def AeonDataLoader(config: dict[str, Any], adapter: bool = True) -> Any:
    """neon's ``AeonDataLoader``: an aeon :class:`DataLoader` for ``config``, wrapped in a
    :class:`DataLoaderAdapter` (batch-first torch tensors on the backend's device) unless
    ``adapter=False`` (aeon's own tuples of ``(name, numpy array)``)."""
    loader = DataLoader(config)
    return DataLoaderAdapter(loader) if adapter else loader
