"""neon's ``BranchNode`` (where a Tree's branches leave the trunk) and ``SkipNode``."""

from __future__ import annotations

import weakref
from typing import ClassVar

from torch import Tensor, nn

from ..registry import neon_type
from ._base import Layer

__all__ = ["BranchNode", "SkipNode"]


@neon_type("neon.layers.layer.BranchNode", "neon.layers.BranchNode")
class BranchNode(Layer):
    """A point of a ``Tree``'s trunk where branches start; passes its input through.

    neon semantics: a BranchNode is a **singleton per name**: ``BranchNode(name='b1')`` built
    twice is the same object, which is how a script puts the node both in the trunk and at the
    head of its branch. (neon_torch keeps the registry while the node is alive; unnamed nodes
    are distinct objects, so reuse the object itself, as neon's examples do.) The gradient
    reaching it is the sum over the trunk and the branches, each scaled by its Tree ``alpha``.

    Shape:
        output = input.
    """

    owns_output = False
    _by_name: ClassVar[weakref.WeakValueDictionary[str, BranchNode]] = weakref.WeakValueDictionary()

    def __new__(cls, name: str | None = None) -> BranchNode:
        existing = cls._by_name.get(name) if name is not None else None
        return existing if existing is not None else super().__new__(cls)

    def __init__(self, name: str | None = None) -> None:
        if self.__dict__.get("_node_ready"):
            return  # the existing node of this name
        super().__init__(name)
        self._node_ready = True
        if name is not None:
            BranchNode._by_name[name] = self

    def forward(self, x: Tensor) -> Tensor:
        return x

    def to_torch(self) -> nn.Module:
        """``nn.Identity``."""
        return nn.Identity()

    def __str__(self) -> str:
        return f"BranchNode {self.name}"


@neon_type("neon.layers.layer.SkipNode", "neon.layers.SkipNode")
class SkipNode(Layer):
    """The identity, as a layer (the shortcut path of a residual ``MergeSum``).

    Shape:
        output = input.
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)

    def forward(self, x: Tensor) -> Tensor:
        return x

    def to_torch(self) -> nn.Module:
        """``nn.Identity``."""
        return nn.Identity()
