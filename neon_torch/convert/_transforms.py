"""Plain torch modules for neon activation transforms."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import UnsupportedNeonFeature
from .modules import BinarySign, ClippedRectlin, FlatSoftmax, Scale

__all__ = ["transform_module"]


def transform_module(transform: Any, flat_features: bool) -> nn.Module:
    """The torch module for ``transform``; ``flat_features`` is False for image inputs, whose
    non-elementwise transforms (Softmax) act on all ``C·H·W`` features of a sample."""
    kind = type(transform).__name__
    if kind == "Rectlin":
        slope = float(getattr(transform, "slope", 0) or 0)
        return nn.LeakyReLU(slope) if slope else nn.ReLU()
    if kind == "Rectlinclip":
        return ClippedRectlin(float(transform.slope or 0), float(transform.xcut))
    if kind == "Logistic":
        return nn.Sigmoid()
    if kind == "Tanh":
        return nn.Tanh()
    if kind == "Identity":
        return nn.Identity()
    if kind == "Explin":
        return nn.ELU(float(transform.alpha))
    if kind == "Normalizer":
        return Scale(1.0 / float(transform.divisor))
    if kind == "Sign":
        return BinarySign()
    if kind == "Softmax":
        return nn.Softmax(dim=-1) if flat_features else FlatSoftmax()
    raise UnsupportedNeonFeature(
        f"the activation {kind} has no plain-torch equivalent in neon_torch.convert yet."
    )
