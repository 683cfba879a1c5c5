"""Conversion for PyTorch users: neon models and ``.prm`` files as plain torch modules.

>>> # module = neon_torch.convert.to_torch_module("model.prm")   # or Model.to_torch()
>>> # state = neon_torch.convert.to_state_dict("model.prm")      # torch names and layouts

The layers' side of conversion (:func:`sequence_module`, :func:`container_module`) sits in a
module that imports nothing above the layers; this package adds reading a file or a
description (through :class:`~neon_torch.models.Model`) and writing modules to disk
(:mod:`neon_torch.convert.export`).
"""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor, nn

from ._convert import container_module, sequence_module

__all__ = ["container_module", "load_model", "sequence_module", "to_state_dict", "to_torch_module"]


def load_model(source: Any) -> Any:
    """``source`` as a model: a ``Model`` (or ``GAN``) as it is, or ``Model(source)`` for a
    path to a neon_torch ``.prm``, a neon-written file, or a description dict."""
    if hasattr(source, "layers") and hasattr(source, "initialized"):
        return source
    if isinstance(source, (str, os.PathLike, dict)):
        # deferred: the models import the layers, which import this package's leaf module
        from ..models import Model

        return Model(source)
    raise TypeError(f"expected a Model, a .prm path or a description dict, got {source!r:.80}")


def to_torch_module(source: Any) -> nn.Module:
    """A plain ``torch.nn.Module`` equal to ``source`` at inference, in ``eval()`` mode.

    ``source``: a ``Model``, a path to a neon_torch ``.prm`` or a neon-written file, or a
    description dict (see :func:`container_module` for what the module is and when it is
    refused).
    """
    return container_module(load_model(source))


def to_state_dict(source: Any) -> dict[str, Tensor]:
    """The PyTorch state dict (torch layouts and names) of :func:`to_torch_module`'s module."""
    return dict(to_torch_module(source).state_dict())
