"""neon's multi-output containers ``Tree`` and ``SingleOutputTree``."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..backends.backend import current_backend
from ..convert._convert import sequence_module
from ..convert.modules import TreePaths
from ..errors import LayerConfigError
from ..registry import neon_type
from ._base import Layer
from ._grad_scale import applied_alpha, scale_grad
from .branch import BranchNode
from .merge import _Paths

__all__ = ["SingleOutputTree", "Tree"]


@neon_type("neon.layers.container.Tree", "neon.layers.Tree")
class Tree(_Paths):
    """A trunk and branches that leave it at ``BranchNode`` s; one output per path.

    neon semantics: ``layers[0]`` is the trunk, every later element a branch whose first layer
    is a BranchNode of the trunk (the same object, or a node with the same name). The forward
    runs the trunk, then each branch from its node's value, and returns
    ``[trunk output, branch 1 output, ...]`` (also in inference). Gradients: at each branch
    point, the gradient coming back from the rest of the trunk is scaled by ``alphas[0]`` and
    the one from branch i by ``alphas[i]``; the branches' own weight gradients are unscaled.
    ``alphas`` default to 1.

    neon's CPU backend drops a branch's alpha when the branch writes its gradient into the
    node first (it is the last branch of a run of branches sharing that node) and its first
    layer is a ``Linear``, ``Convolution`` or ``Deconvolution``: their matrix products ignore
    ``alpha`` when they overwrite (see :func:`~neon_torch.layers._grad_scale.applied_alpha`).
    The real neon 2.6 ``tree_branch`` run shows it, and ``gen_backend('cpu')`` reproduces it;
    the other backends apply every alpha, as neon's GPU backend does.

    Shape:
        input ``(N, *in_shape)``; output a list of batch-first tensors; ``out_shape`` is the
        list of the paths' output shapes.
    """

    def __init__(self, layers: Any, name: str | None = None, alphas: Any = None) -> None:
        super().__init__(layers, name)
        if alphas is not None and len(alphas) != len(self.layers):
            raise LayerConfigError(
                f"{type(self).__name__} {self.name!r}: {len(alphas)} alphas for "
                f"{len(self.layers)} paths; give one per path."
            )
        self.alphas = list(alphas) if alphas is not None else [1.0] * len(self.layers)
        trunk_nodes = [layer for layer in self.layers[0].layers if isinstance(layer, BranchNode)]
        for i, branch in enumerate(self.layers[1:], start=1):
            head = branch.layers[0]
            node = next(
                (n for n in trunk_nodes if n is head or n.name == getattr(head, "name", None)),
                None,
            )
            if not isinstance(head, BranchNode) or node is None:
                raise LayerConfigError(
                    f"{type(self).__name__} {self.name!r}: branch {i} must start with a "
                    f"BranchNode that is in the trunk (trunk nodes: "
                    f"{[n.name for n in trunk_nodes]}); it starts with "
                    f"{getattr(head, 'name', head)!r}."
                )
            branch.layers[0] = node

    def configure(self, in_obj: Any) -> Tree:
        Layer.configure(self, in_obj)
        self.layers[0].configure(in_obj)
        for branch in self.layers[1:]:
            branch.configure(branch.layers[0])
        self.out_shape = [path.out_shape for path in self.layers]  # type: ignore[assignment]  # one shape per path
        self._branch_alphas = self._effective_alphas(current_backend().name == "cpu")
        return self

    def _effective_alphas(self, cpu: bool) -> list[float]:
        """The alpha each branch's gradient into the trunk gets (see the class docstring)."""
        out = []
        branches = list(self.layers[1:])
        for i, branch in enumerate(branches):
            overwrites = i + 1 == len(branches) or branches[i + 1].layers[0] is not branch.layers[0]
            first = branch.layers[1] if len(branch.layers) > 1 else None
            out.append(applied_alpha(first, self.alphas[i + 1], overwrites, cpu))
        return out

    def nested_str(self, level: int = 0) -> str:
        # neon's Tree prints its class name unindented and its paths one level deeper
        return (
            type(self).__name__
            + "\n"
            + "\n".join(path.nested_str(level + 1) for path in self.layers)
        )

    def forward(self, x: Tensor) -> Any:
        taps: dict[int, Tensor] = {}
        y = x
        for layer in self.layers[0].layers:
            y = layer(y)
            if isinstance(layer, BranchNode):
                taps[id(layer)] = y
                y = scale_grad(y, self.alphas[0])
        if self._trunk_only():
            return y
        outputs = [y]
        for branch, alpha in zip(self.layers[1:], self._branch_alphas, strict=True):
            h = scale_grad(taps[id(branch.layers[0])], alpha)
            for layer in branch.layers[1:]:
                h = layer(h)
            outputs.append(h)
        return outputs

    def _trunk_only(self) -> bool:
        return False

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.TreePaths`: the trunk cut at its branch points,
        each branch starting from its point (a SingleOutputTree's returns the trunk only)."""
        segments: list[list[Layer]] = [[]]
        where: dict[int, int] = {}
        for layer in self.layers[0].layers:
            segments[-1].append(layer)
            if isinstance(layer, BranchNode):
                where[id(layer)] = len(segments) - 1
                segments.append([])
        taps = [where[id(branch.layers[0])] for branch in self.layers[1:]]
        branches = [sequence_module(branch.layers[1:]) for branch in self.layers[1:]]
        return TreePaths(
            [sequence_module(s) for s in segments], taps, branches, type(self) is SingleOutputTree
        )


@neon_type("neon.layers.container.SingleOutputTree", "neon.layers.SingleOutputTree")
class SingleOutputTree(Tree):
    """A :class:`Tree` that, in inference, computes and returns only the trunk's output (a
    tensor): what makes ``eval`` and ``get_outputs`` work on branched models, as in neon."""

    def _trunk_only(self) -> bool:
        return not self.training
