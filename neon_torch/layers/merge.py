"""neon's merging containers: ``MergeBroadcast``, ``MergeMultistream`` and ``MergeSum``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .. import layout
from ..backends.backend import current_backend
from ..errors import LayerConfigError, ShapeMismatchError
from ..registry import neon_type
from ._base import Layer, Shape, resolve_in_shape, shape_size
from ._grad_scale import applied_alpha, scale_grad
from .container import LayerContainer, Sequential, _layer_list

__all__ = ["MergeBroadcast", "MergeMultistream", "MergeSum", "as_path"]

_MERGES = ("stack", "depth", "recurrent")


def as_path(item: Any) -> LayerContainer:
    """A container path: containers as they are; a layer or a list becomes a ``Sequential``."""
    return item if isinstance(item, LayerContainer) else Sequential(item)


class _Paths(LayerContainer):
    """Containers whose children are parallel paths (each a ``Sequential``)."""

    def __init__(self, layers: Any, name: str | None = None) -> None:
        super().__init__(name)
        if not isinstance(layers, (list, tuple)) or not layers:
            raise LayerConfigError(
                f"{type(self).__name__} {self.name!r} needs a non-empty list of paths, got "
                f"{layers!r}."
            )
        self.layers = _layer_list([as_path(item) for item in layers])

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        for path in self.layers:
            path.allocate()

    def _plain_paths(self, merge: str, multistream: bool = False) -> nn.Module:
        from ..convert.modules import MergePaths

        sequence = [layout.is_sequence_shape(path.out_shape) for path in self.layers]
        return MergePaths([path.to_torch() for path in self.layers], merge, sequence, multistream)

    def _describe_paths(self, shapes: list[Any]) -> str:
        return ", ".join(
            f"path {i} ({path.layers[-1].name}): {shape}"
            for i, (path, shape) in enumerate(zip(self.layers, shapes, strict=True))
        )


class _Merge(_Paths):
    """Concatenating merge of the paths' outputs by ``merge`` (see :class:`MergeBroadcast`)."""

    def __init__(self, layers: Any, merge: str, name: str | None = None) -> None:
        super().__init__(layers, name)
        if merge not in _MERGES:
            raise LayerConfigError(
                f"{type(self).__name__} {self.name!r}: unknown merge {merge!r}; neon supports "
                f"{list(_MERGES)}."
            )
        self.merge = merge

    def _merged_shape(self, shapes: list[Shape]) -> Shape:
        where = f"{type(self).__name__} {self.name!r} (merge={self.merge!r})"
        if self.merge == "stack":
            return sum(shape_size(s) for s in shapes)
        if self.merge == "depth":
            tails = {tuple(s[1:]) if isinstance(s, tuple) else None for s in shapes}
            if None in tails or len(tails) != 1:
                raise ShapeMismatchError(
                    f"{where}: every path must output images (C, H, W) with the same spatial "
                    f"size; got {self._describe_paths(shapes)}."
                )
            return (sum(s[0] for s in shapes), *tails.pop())  # type: ignore[index,misc]
        steps = [_as_steps(s) for s in shapes]
        known = [s for s in steps if s is not None]
        if len(known) != len(steps) or len({f for f, _ in known}) != 1:
            raise ShapeMismatchError(
                f"{where}: every path must output sequences (F, T) or feature vectors F (one "
                f"step) with the same F; got {self._describe_paths(shapes)}."
            )
        return (known[0][0], sum(t for _, t in known))

    def _combine(self, outs: list[Tensor]) -> Tensor:
        if self.merge == "stack":
            flat = [
                layout.to_neon_sample_order(y, path.out_shape).reshape(y.shape[0], -1)
                for y, path in zip(outs, self.layers, strict=True)
            ]
            return torch.cat(flat, dim=1)
        if self.merge == "recurrent":  # a feature vector (N, F) is one step (N, 1, F)
            outs = [y.unsqueeze(1) if y.dim() == 2 else y for y in outs]
        return torch.cat(outs, dim=1)  # channels of (N, C, H, W) or steps of (N, T, F)


def _as_steps(shape: Shape) -> tuple[int, int] | None:
    """A path's output as ``(F, T)`` for a ``'recurrent'`` merge: sequences as they are, a
    feature vector ``F`` as one step (neon's Linear reports it as ``(F, 1)``); None otherwise."""
    if isinstance(shape, int):
        return (shape, 1)
    return (int(shape[0]), int(shape[1])) if layout.is_sequence_shape(shape) else None


@neon_type("neon.layers.container.MergeBroadcast", "neon.layers.MergeBroadcast")
class MergeBroadcast(_Merge):
    """Every path gets the same input; their outputs are concatenated.

    neon semantics: ``merge='stack'`` flattens each path's output (neon feature order) and
    stacks the features; ``'depth'`` concatenates the channels of same-sized images;
    ``'recurrent'`` concatenates sequences along time (a path that outputs a feature vector
    contributes one step, as an image prepended to a caption). The gradient sent to the input is
    ``Σ alphas[i] · (gradient of path i)``; ``alphas`` default to 1 for every path.

    neon's CPU backend runs the paths' backward passes last path first; the last path
    overwrites the shared input gradient and the others add to it. When that last path starts
    with a ``Linear``, ``Convolution`` or ``Deconvolution``, its alpha is dropped (their CPU
    products skip alpha when they overwrite): ``gen_backend('cpu')`` reproduces it, the other
    backends apply every alpha.

    Shape:
        input ``(N, *in_shape)``; output ``(N, ΣF_i)``, ``(N, ΣC_i, H, W)`` or
        ``(N, ΣT_i, F)``.
    """

    def __init__(
        self, layers: Any, merge: str, alphas: list[float] | None = None, name: str | None = None
    ) -> None:
        super().__init__(layers, merge, name)
        if alphas is not None and len(alphas) != len(self.layers):
            raise LayerConfigError(
                f"MergeBroadcast {self.name!r}: {len(alphas)} alphas for {len(self.layers)} "
                "paths; give one per path."
            )
        self.alphas = list(alphas) if alphas is not None else [1.0] * len(self.layers)
        self._path_alphas = self.alphas  # the alphas neon's backend applies, set by configure

    def configure(self, in_obj: Any) -> MergeBroadcast:
        Layer.configure(self, in_obj)
        for path in self.layers:
            path.configure(in_obj)
        self.out_shape = self._merged_shape([path.out_shape for path in self.layers])
        cpu = current_backend().name == "cpu"
        last = len(self.layers) - 1
        self._path_alphas = [
            applied_alpha(path.layers[0], alpha, i == last, cpu)
            for i, (path, alpha) in enumerate(zip(self.layers, self.alphas, strict=True))
        ]
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self._combine(
            [path(scale_grad(x, a)) for path, a in zip(self.layers, self._path_alphas, strict=True)]
        )

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.MergePaths` over the paths' plain modules."""
        return self._plain_paths(self.merge)


@neon_type("neon.layers.container.MergeMultistream", "neon.layers.MergeMultistream")
class MergeMultistream(_Merge):
    """Path i reads input stream i (an iterator over several arrays); outputs are merged as
    in :class:`MergeBroadcast`. No gradient is sent to the inputs.

    Shape:
        input: a list of batch-first tensors, one per path.
    """

    def __init__(self, layers: Any, merge: str, name: str | None = None) -> None:
        super().__init__(layers, merge, name)

    def configure(self, in_obj: Any) -> MergeMultistream:
        shapes = getattr(in_obj, "shape", in_obj)
        if not isinstance(shapes, list) or len(shapes) != len(self.layers):
            raise ShapeMismatchError(
                f"MergeMultistream {self.name!r} has {len(self.layers)} paths and needs as many "
                f"input streams (a dataset whose shape is a list of shapes); got {shapes!r}."
            )
        self.in_shape = [resolve_in_shape(s) for s in shapes]  # type: ignore[assignment]  # one shape per path
        for path, shape in zip(self.layers, self.in_shape, strict=True):  # type: ignore[arg-type]  # one shape per path
            path.configure(shape)
        self.out_shape = self._merged_shape([path.out_shape for path in self.layers])
        return self

    def forward(self, xs: list[Tensor]) -> Tensor:  # type: ignore[override]  # one input per path
        if not isinstance(xs, (list, tuple)) or len(xs) != len(self.layers):
            got = len(xs) if isinstance(xs, (list, tuple)) else type(xs).__name__
            raise ShapeMismatchError(
                f"MergeMultistream {self.name!r} needs a list of {len(self.layers)} input "
                f"tensors, got {got}."
            )
        return self._combine([path(x) for path, x in zip(self.layers, xs, strict=True)])

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.MergePaths` taking one input per path."""
        return self._plain_paths(self.merge, multistream=True)


@neon_type("neon.layers.container.MergeSum", "neon.layers.MergeSum")
class MergeSum(_Paths):
    """Every path gets the same input; the output is the sum of their outputs (a residual
    block is ``MergeSum([[Conv, ..., Conv], [SkipNode()]])``).

    Shape:
        output ``(N, *out_shape)`` of the paths, which must all agree.
    """

    def __init__(self, layers: Any, name: str | None = None) -> None:
        super().__init__(layers, name)

    def configure(self, in_obj: Any) -> MergeSum:
        Layer.configure(self, in_obj)
        for path in self.layers:
            path.configure(in_obj)
        shapes = [path.out_shape for path in self.layers]
        if any(s != shapes[0] for s in shapes):
            raise ShapeMismatchError(
                f"MergeSum {self.name!r}: the paths' outputs must have one shape to be summed; "
                f"got {self._describe_paths(shapes)}."
            )
        self.out_shape = shapes[0]
        return self

    def forward(self, x: Tensor) -> Tensor:
        paths = iter(self.layers)
        y = next(paths)(x)
        for path in paths:
            y = y + path(x)
        return y

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.MergePaths` summing the paths' outputs."""
        return self._plain_paths("sum")
