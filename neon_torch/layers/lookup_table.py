"""neon's word-embedding layer ``LookupTable``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import layout
from ..errors import NeonTorchError, ShapeMismatchError
from ..registry import neon_type
from ._base import WeightLayer
from .recurrent._base import interpret_in_shape

__all__ = ["LookupTable", "TokenIdError"]


class TokenIdError(NeonTorchError, IndexError):
    """A token id outside ``[0, vocab_size)`` fed to a ``LookupTable``."""


@neon_type("neon.layers.layer.LookupTable", "neon.layers.LookupTable")
class LookupTable(WeightLayer):
    """Maps token ids to learned vectors: row ``id`` of ``W``.

    neon semantics: ``W`` has neon shape ``(vocab_size, embedding_dim)`` (the same as
    ``nn.Embedding.weight``) and ``init`` fills it in that shape. Ids arrive as numbers (floats
    are truncated to integers); the input is ``nin`` ids per sample (an int shape, or
    ``(nin, 1)`` as ``Text(onehot_input=False)`` gives) and the output is the sequence
    ``(embedding_dim, nin)``. ``pad_idx``: that row is zeroed at allocation (and after loading
    weights) and never gets a gradient. ``update=False``: the gradient stays zero, but the layer
    is still handed to the optimizer (weight decay and momentum still apply), as in neon.

    Shape:
        input ``(N, nin)`` (or ``(N, 1, nin)``) ids; output ``(N, nin, embedding_dim)``.

    Raises:
        TokenIdError: an id is negative or not below ``vocab_size``.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        init: Any,
        update: bool = True,
        pad_idx: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(init=init, name=name)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.update = update
        self.pad_idx = pad_idx
        # a Parameter once allocate() ran (the methods using it check that first)
        self.weight: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()

    def configure(self, in_obj: Any) -> LookupTable:
        super().configure(in_obj)
        self.nin, _ = interpret_in_shape(self.in_shape)
        self.out_shape = (self.embedding_dim, self.nin)
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        w = self._fill(self.init, (self.vocab_size, self.embedding_dim))
        self.weight = self._new_parameter(w, layout.linear_w_to_torch)
        self._allocated = True
        self._zero_pad_row()

    def _zero_pad_row(self) -> None:
        if self.pad_idx is not None:
            with torch.no_grad():
                self.weight[self.pad_idx] = 0

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        if x.numel() != x.shape[0] * self.nin:
            raise ShapeMismatchError(
                f"Layer {self.name!r} (LookupTable) was configured for {self.nin} token ids per "
                f"sample, but received a batch of shape {tuple(x.shape)}. Feed sequences of "
                f"length {self.nin} (batch-first (N, {self.nin}))."
            )
        ids = x.reshape(x.shape[0], self.nin)
        ids = ids.long() if ids.dtype != torch.long else ids  # neon truncates float ids
        self._check_ids(ids)
        weight = self.weight if self.update else self.weight.detach()
        return F.embedding(ids, weight, padding_idx=self.pad_idx)

    def _check_ids(self, ids: Tensor) -> None:
        """Raise on ids outside the vocabulary. Checked where it is free: on the CPU and
        outside ``torch.compile``; on CUDA reading the flag would stall the device every
        minibatch, so there torch's own embedding bounds check (a device-side assert) acts."""
        if ids.device.type != "cpu" or torch.compiler.is_compiling():
            return
        bad = (ids < 0) | (ids >= self.vocab_size)
        if bool(bad.any()):
            values = ids[bad]
            raise TokenIdError(
                f"Layer {self.name!r} (LookupTable, vocab_size={self.vocab_size}) received "
                f"{values.numel()} token id(s) outside [0, {self.vocab_size - 1}], e.g. "
                f"{int(values[0])}. Map unknown tokens to an id in the vocabulary (an OOV id) "
                "or build the LookupTable with a larger vocab_size."
            )

    def to_torch(self) -> nn.Module:
        """A :class:`~neon_torch.convert.modules.TokenEmbedding` (an ``nn.Embedding`` whose
        ``weight`` is neon's ``W``) taking this layer's ``(N, nin)`` / ``(N, 1, nin)`` ids.
        Ids out of range raise ``IndexError`` from torch, not :class:`TokenIdError`."""
        from ..convert.modules import TokenEmbedding

        self._check_allocated()
        w = self.weight.detach()
        module = TokenEmbedding(
            self.vocab_size, self.embedding_dim, self.pad_idx, device=w.device, dtype=w.dtype
        )
        with torch.no_grad():
            module.weight.copy_(layout.linear_w_to_torch(w))
        return module

    def set_neon_params(self, params: dict[str, np.ndarray]) -> None:
        super().set_neon_params(params)
        self._zero_pad_row()

    def __str__(self) -> str:
        nin = getattr(self, "nin", "?")
        return f"LookupTable Layer : {nin} inputs, ({self.embedding_dim}, {nin}) outputs size"
