"""neon_torch models -> plain ``torch.nn`` modules and PyTorch state dicts.

The per-layer protocol (see :meth:`neon_torch.layers.Layer.to_torch`): every layer returns a
plain module with copies of its weights for its **inference** forward on batch-first tensors,
and a layer may instead fold itself into the module made for the layer before it
(:meth:`~neon_torch.layers.Layer.fold_into_torch`: a Bias into a bias-less ``nn.Linear`` or
``nn.Conv2d``). Containers assemble their children with :func:`sequence_module`: an
``nn.Sequential`` whose children are named after the neon layers (``Linear_0``,
``Linear_0_Rectlin``, ...), so state-dict keys read ``Linear_0.weight``, ``Linear_0.bias``,
``Linear_0_bnorm.running_mean``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from torch import nn

from ..errors import NotConfiguredError, UnsupportedNeonFeature

__all__ = ["container_module", "sequence_module"]


def _module_name(name: str, used: set[str]) -> str:
    base = re.sub(r"\W", "_", str(name)) or "layer"
    candidate, k = base, 1
    while candidate in used:
        candidate, k = f"{base}_{k}", k + 1
    used.add(candidate)
    return candidate


def sequence_module(layers: Iterable[Any]) -> nn.Sequential:
    """An ``nn.Sequential`` of the plain modules of ``layers`` (folding where layers allow)."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    used: set[str] = set()
    previous: nn.Module | None = None
    for layer in layers:
        if previous is not None and layer.fold_into_torch(previous):
            continue
        previous = layer.to_torch()
        modules[_module_name(layer.name, used)] = previous
    return nn.Sequential(modules)


def container_module(model: Any) -> nn.Module:
    """A plain ``torch.nn.Module`` equal to ``model`` at inference, in ``eval()`` mode.

    ``model``: anything holding its layers in a ``LayerContainer`` ``.layers`` and saying
    whether its weights exist in ``.initialized`` (a ``Model``, a ``GAN``). This module
    imports nothing above the layers, so the layers may import it; paths and descriptions are
    read by :func:`neon_torch.convert.to_torch_module`. Inputs and outputs are batch-first,
    as ``Model.fprop``'s. The module uses only ``torch.nn`` and
    :mod:`neon_torch.convert.modules`, and ``torch.export`` exports it.

    Recurrent layers must be stateless (``reset_cells=True``): a plain module starts every
    call from zero states, while neon's default ``reset_cells=False`` seeds each call with the
    previous call's last state, so such a model is refused rather than converted to something
    that computes other outputs.

    Raises:
        NotConfiguredError: the model has no weights yet (call ``initialize`` first).
        UnsupportedNeonFeature: a layer without a plain-torch equivalent, or a stateful
            recurrent layer.
    """
    if not getattr(model, "initialized", False):
        raise NotConfiguredError(
            "The model has no weights yet; call model.initialize(dataset) (or load a .prm) "
            "before converting it."
        )
    stateful = [
        layer.name for layer in model.layers.modules() if getattr(layer, "carries_state", False)
    ]
    if stateful:
        raise UnsupportedNeonFeature(
            f"recurrent layers {stateful} are stateful (neon's default reset_cells=False: each "
            "call starts from the previous call's last state), which a plain torch module "
            "does not do; set layer.reset_cells = True on them to convert the zero-state form."
        )
    module = model.layers.to_torch()
    module.eval()
    return module
