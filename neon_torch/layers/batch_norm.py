"""neon's ``BatchNorm``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import layout
from ..backends.backend import current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..registry import neon_type
from ._base import ParameterLayer, claim_parameters, shape_size
from ._shift import ShiftBatchNormFunction

__all__ = ["BatchNorm"]


@neon_type("neon.layers.layer.BatchNorm", "neon.layers.BatchNorm")
class BatchNorm(ParameterLayer):
    """Batch normalization with neon's statistics.

    neon semantics:

    * statistics per feature (flat input), per channel over ``(N, H, W)`` (images) or per
      feature over ``(N, T)`` (sequences); the variance is the **biased** one;
    * training: ``y = gamma * (x - mu) / sqrt(var + eps) + beta`` and the running statistics
      ``gmean <- rho * gmean + (1 - rho) * mu``, ``gvar <- rho * gvar + (1 - rho) * var``
      (biased ``var``) on every training forward;
    * inference: ``y = gamma * (x - gmean) / sqrt(gvar + eps) + beta``;
    * ``beta`` starts at 0, ``gamma`` at 1, and **both ``gmean`` and ``gvar`` at 0**, so an
      untrained model at inference divides by ``sqrt(eps)``;
    * optimizer order ``[beta, gamma]``; ``gmean``/``gvar`` are saved but never optimized.

    torch names: ``weight`` = gamma, ``bias`` = beta, buffers ``running_mean`` = gmean and
    ``running_var`` = gvar. ``binary=True`` trains with neon's shift-based arithmetic (see
    :class:`~neon_torch.layers.ShiftBatchNorm`); inference is the same in both variants.

    Shape:
        output = input.
    """

    _nested_states: ClassVar[bool] = True

    def __init__(
        self, rho: float = 0.9, eps: float = 1e-3, name: str | None = None, binary: bool = False
    ) -> None:
        super().__init__(init=None, name=name)
        self.rho = rho
        self.eps = eps
        self.binary = binary
        # a Parameter once allocate() ran (the methods using it check that first)
        self.weight: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        # a Parameter once allocate() ran (the methods using it check that first)
        self.bias: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        self.register_buffer("running_mean", None)
        self.register_buffer("running_var", None)
        self._sequence = False

    def configure(self, in_obj: Any) -> BatchNorm:
        super().configure(in_obj)
        shape = self.in_shape
        self._sequence = layout.is_sequence_shape(shape)
        self.nfm = shape if isinstance(shape, int) else shape[0]
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        claim_parameters(self, (4, self.nfm))  # beta, gamma, gmean, gvar
        be = current_backend()
        kw: dict[str, Any] = {"dtype": be.torch_dtype, "device": be.device}
        self.bias = nn.Parameter(torch.zeros(self.nfm, **kw))
        self.weight = nn.Parameter(torch.ones(self.nfm, **kw))
        self.register_buffer("running_mean", torch.zeros(self.nfm, **kw))
        self.register_buffer("running_var", torch.zeros(self.nfm, **kw))
        self._allocated = True

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        if self._sequence:
            # (N, T, F) -> (N, F, T): torch normalizes dim 1 over all other dims
            return self._normalize(x.transpose(1, 2)).transpose(1, 2)
        return self._normalize(x)

    def _normalize(self, x: Tensor) -> Tensor:
        if not self.training:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        if self.binary:
            return self._shift_normalize(x)
        # one pass for the statistics and the output; the batch variance (biased, as neon's)
        # is recovered from the saved inverse standard deviation
        y, mean, invstd = torch.native_batch_norm(
            x, self.weight, self.bias, None, None, True, 0.0, self.eps
        )
        with torch.no_grad():
            var = invstd.pow(-2).sub_(self.eps)
            self.running_mean.mul_(self.rho).add_(mean, alpha=1.0 - self.rho)
            self.running_var.mul_(self.rho).add_(var, alpha=1.0 - self.rho)
        return y

    def _shift_normalize(self, x: Tensor) -> Tensor:
        """Training forward of neon's shift-based variant, on neon's ``(C, M)`` view."""
        moved = x.transpose(0, 1)  # (C, N, ...)
        y, mean, var = ShiftBatchNormFunction.apply(
            moved.reshape(self.nfm, -1), self.weight.view(-1, 1), self.bias.view(-1, 1), self.eps
        )
        with torch.no_grad():
            self.running_mean.mul_(self.rho).add_(mean.view(-1), alpha=1.0 - self.rho)
            self.running_var.mul_(self.rho).add_(var.view(-1), alpha=1.0 - self.rho)
        return y.reshape(moved.shape).transpose(0, 1)

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.bias, self.weight]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {
            "beta": self.bias,
            "gamma": self.weight,
            "gmean": self.running_mean,
            "gvar": self.running_var,
        }

    # neon's attributes: (F, 1) backend Tensors sharing the torch parameters' storage
    @property
    def beta(self) -> NeonTensor | None:
        """neon's learned shift ``beta`` (torch ``bias``) as an ``(F, 1)`` backend Tensor."""
        return self._neon_param("beta")

    @property
    def gamma(self) -> NeonTensor | None:
        """neon's learned scale ``gamma`` (torch ``weight``) as an ``(F, 1)`` backend Tensor."""
        return self._neon_param("gamma")

    @property
    def gmean(self) -> NeonTensor | None:
        """neon's running mean (torch ``running_mean``) as an ``(F, 1)`` backend Tensor."""
        return self._neon_param("gmean")

    @property
    def gvar(self) -> NeonTensor | None:
        """neon's running variance (torch ``running_var``) as an ``(F, 1)`` backend Tensor."""
        return self._neon_param("gvar")

    @property
    def grad_beta(self) -> NeonTensor | None:
        """``beta``'s gradient (summed over the minibatch), or None."""
        return self._neon_grad("beta")

    @property
    def grad_gamma(self) -> NeonTensor | None:
        """``gamma``'s gradient (summed over the minibatch), or None."""
        return self._neon_grad("gamma")

    def to_torch(self) -> nn.Module:
        """``nn.BatchNorm1d/2d/3d`` (eps, ``momentum = 1 - rho``) with gamma, beta, gmean and
        gvar copied, or :class:`~neon_torch.convert.modules.SequenceBatchNorm` for sequences.
        Inference matches neon exactly; torch's training mode updates ``running_var`` with the
        unbiased variance, neon with the biased one."""
        from ..convert.modules import SequenceBatchNorm

        self._check_allocated()
        shape = self.in_shape
        if self._sequence:
            cls: Any = SequenceBatchNorm
        elif isinstance(shape, int) or len(shape) == 1:
            cls = nn.BatchNorm1d
        else:
            cls = {3: nn.BatchNorm2d, 4: nn.BatchNorm3d}[len(shape)]
        w = self.weight.detach()
        bn = cls(self.nfm, eps=self.eps, momentum=1.0 - self.rho, dtype=w.dtype, device=w.device)
        with torch.no_grad():
            bn.weight.copy_(w)
            bn.bias.copy_(self.bias)
            bn.running_mean.copy_(self.running_mean)
            bn.running_var.copy_(self.running_var)
        return bn.eval()

    def __str__(self) -> str:
        shape = self.in_shape
        if shape is None:
            return f"BatchNorm Layer '{self.name}'"
        if self._sequence:
            nin, steps = shape  # type: ignore[misc]  # a sequence shape (F, T)
        else:
            nin, steps = shape_size(shape), 1
        return (
            f"BatchNorm Layer '{self.name}': {nin} inputs, {steps} steps, {self.nfm} feature maps"
        )
