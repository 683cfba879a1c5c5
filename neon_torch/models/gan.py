"""neon's ``GAN`` model: the alternating discriminator / generator training loop."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .._types import Dataset, OptimizerArg
from ..backends.backend import current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..errors import LayerConfigError, NeonTorchError
from ..layout import batch_first_to_neon, neon_to_batch_first
from ..optimizers.torch_adapter import fit_optimizer
from ..registry import neon_type
from ..serialization import model_io
from . import _loop
from ._data import as_batches
from .model import Model

__all__ = ["GAN", "NoGeneratorStepError"]


class NoGeneratorStepError(NeonTorchError, RuntimeError):
    """An epoch ended without one generator step (neon asserts the same)."""


@neon_type("neon.models.model.GAN", "neon.models.GAN")
class GAN(Model):
    """A generative adversarial network trained as neon 2.6 trains one.

    ``layers`` is a :class:`~neon_torch.layers.GenerativeAdversarial`; ``noise_dim`` the
    per-sample shape of the generator's input; ``noise_type`` ``'normal'`` or ``'uniform'``
    (in [-1, 1)); ``k`` the number of discriminator steps per generator step;
    ``wgan_param_clamp`` clips every discriminator parameter to ``[-c, c]`` before each
    discriminator step (WGAN); ``wgan_train_sched`` uses 100 discriminator steps per
    generator step for the first 25 generator steps and every 500th (Arjovsky et al.).

    neon semantics, per minibatch ``x`` of data (its labels are ignored):

    1. (WGAN) clip the discriminator's parameters;
    2. discriminator step: noise ``z`` -> ``G(z)`` (training mode, no gradient into G) ->
       ``D`` backpropagates ``costfunc.bprop_noise``, then ``D(x)`` backpropagates
       ``costfunc.bprop_data`` into the same (accumulated) gradients, one optimizer step on
       the discriminator's layers; ``cost_dis = cost.get_cost(y_data, y_noise, 'dis')``;
    3. generator step when ``current_batch == last_gen_batch + k`` (so never on the very first
       minibatch): fresh noise, ``D(G(z))`` backpropagates ``costfunc.bprop_generator``
       through D into G, one optimizer step on the generator's layers;
       ``cost_dis = cost.get_cost(y_data, y_noise, 'dis')`` again, added to the epoch total.

    ``total_cost`` is the sum of the generator steps' ``cost_dis`` over their count in the
    epoch (an epoch without a generator step raises :class:`NoGeneratorStepError`). Noise is
    drawn as neon's CPU backend draws it, from numpy's global stream in neon's
    ``(features, batch)`` layout (``be.fill_normal``). After each epoch ``data_batch`` (the
    last data minibatch) and ``noise_batch`` (``G`` of the fixed noise ``z0``, drawn at
    ``initialize``) are backend Tensors in neon's layout, for
    :class:`~neon_torch.callbacks.plotting_callbacks.GANPlotCallback`.
    """

    data_parallel: ClassVar[bool] = False  # its loop steps D and G, not one wrapper

    def __init__(
        self,
        layers: Any,
        noise_dim: Any,
        noise_type: str = "normal",
        weights_only: bool = False,
        name: str = "model",
        optimizer: Any = None,
        k: int = 1,
        wgan_param_clamp: float | None = None,
        wgan_train_sched: bool = False,
    ) -> None:
        if noise_type not in ("normal", "uniform"):
            raise LayerConfigError(
                f"GAN: noise_type must be 'normal' or 'uniform', got {noise_type!r}."
            )
        self.noise_dim = tuple(noise_dim) if isinstance(noise_dim, (list, tuple)) else noise_dim
        self.noise_type = noise_type
        self.k = k
        self.wgan_param_clamp = wgan_param_clamp
        self.wgan_train_sched = wgan_train_sched
        super().__init__(layers, weights_only=weights_only, name=name, optimizer=optimizer)
        self.current_batch = self.gen_iter = self.last_gen_batch = 0
        self.cost_dis = np.zeros((1,), dtype=np.float32)
        self.z0: Tensor | None = None
        self.data_batch: NeonTensor | None = None
        self.noise_batch: NeonTensor | None = None

    # -- set-up ----------------------------------------------------------------------------
    def _shape_of(self, dataset: Any) -> Any:
        """A GAN is configured from ``noise_dim``, not from the data: the generator comes first."""
        return self.noise_dim

    def _initialized(self) -> None:
        """The generator and then the discriminator were allocated (neon's order of seeded
        draws); draw the fixed noise ``z0`` after them, as neon does."""
        self.z0 = self.noise()

    def noise(self) -> Tensor:
        """One minibatch of noise ``(bsz, *noise_dim)`` on the device, drawn as neon's CPU
        backend does: ``np.random.standard_normal((prod(noise_dim), bsz))`` (global numpy
        stream), or ``2 * uniform - 1`` for ``noise_type='uniform'``."""
        be = current_backend()
        rows = math.prod(self.noise_dim) if isinstance(self.noise_dim, tuple) else self.noise_dim
        shape = (int(rows), be.bsz)
        if self.noise_type == "normal":
            values = np.random.standard_normal(shape)
        else:
            values = 2.0 * np.random.uniform(size=shape) - 1.0
        z = torch.as_tensor(values.astype(be.datatype), device=be.device)
        return neon_to_batch_first(z, self.noise_dim).contiguous()

    def get_k(self, giter: int) -> int:
        """Discriminator steps before generator step ``giter`` (neon's WGAN schedule)."""
        if self.wgan_train_sched and (giter < 25 or giter % 500 == 0):
            return 100
        return self.k

    @staticmethod
    def clip_param_in_layers(layer_list: list[Any], abs_bound: float | None = None) -> None:
        """Clip every parameter of ``layer_list`` to ``[-|abs_bound|, |abs_bound|]``."""
        if not abs_bound:
            return
        bound = abs(abs_bound)
        with torch.no_grad():
            for layer in layer_list:
                for param in layer.optimized_parameters():
                    param.clamp_(-bound, bound)

    # -- training --------------------------------------------------------------------------
    def fit(
        self,
        dataset: Dataset,
        cost: Any,
        optimizer: OptimizerArg,
        num_epochs: int,
        callbacks: Any = None,
    ) -> None:
        """Train ``num_epochs`` epochs of neon's GAN loop (see the class docstring)."""
        self.optimizer = optimizer
        self.nbatches = _loop.nbatches(dataset)
        self.ndata = getattr(dataset, "ndata", 0)
        self.initialize(dataset, cost)
        model_io.restore_optimizer_state(self, optimizer)
        optimizer = fit_optimizer(self, optimizer)
        callbacks = callbacks if callbacks is not None else _loop._NoCallbacks()
        try:
            callbacks.on_train_begin(num_epochs)
            while self.epoch_index < num_epochs and not self.finished:
                epoch = self.epoch_index
                self.nbatches = _loop.nbatches(dataset)
                callbacks.on_epoch_begin(epoch)
                self._epoch_fit(dataset, optimizer, callbacks, epoch)
                self.run_state.epoch_done = True
                callbacks.on_epoch_end(epoch)
                self.epoch_index += 1
                self.run_state.epoch_done = False
            callbacks.on_train_end()
        except BaseException:
            abort = getattr(callbacks, "on_train_abort", None)
            if abort is not None:
                abort()
            raise

    def _epoch_fit(self, dataset: Any, optimizer: Any, callbacks: Any, epoch: int) -> None:
        be = current_backend()
        gen, dis = self.layers.generator, self.layers.discriminator
        gen_layers, dis_layers = gen.layers_to_optimize(), dis.layers_to_optimize()
        costfunc = self.cost.costfunc
        self._set_mode(True)
        total = torch.zeros((), dtype=be.torch_dtype, device=be.device)
        first_gen_iter = self.gen_iter
        x = None
        for mb, (x, _) in enumerate(as_batches(dataset, be)):
            callbacks.on_minibatch_begin(epoch, mb)
            if self.wgan_param_clamp:
                self.clip_param_in_layers(dis_layers, self.wgan_param_clamp)
            # discriminator: generated samples, then data, gradients accumulated
            _zero_grads(self.layers)
            with torch.no_grad():
                gz = gen(self.noise())
            y_noise = dis(gz)
            y_noise.backward(costfunc.bprop_noise(y_noise.detach()))
            y_data = dis(x)
            y_data.backward(costfunc.bprop_data(y_data.detach()))
            optimizer.optimize(dis_layers, epoch=epoch)
            y_data, y_noise = y_data.detach(), y_noise.detach()
            self.cost_dis = self.cost.get_cost(y_data, y_noise, cost_type="dis")[0]
            # generator, every k-th minibatch
            if self.current_batch == self.last_gen_batch + self.get_k(self.gen_iter):
                _zero_grads(self.layers)
                y_gen = dis(gen(self.noise()))
                y_gen.backward(costfunc.bprop_generator(y_gen.detach()))
                optimizer.optimize(gen_layers, epoch=epoch)
                total += self.cost.batch_cost(y_data, y_gen.detach(), cost_type="dis")
                self.cost_dis = self.cost.cost[0]
                self.last_gen_batch = self.current_batch
                self.gen_iter += 1
            callbacks.on_minibatch_end(epoch, mb)
            self.current_batch += 1
        if self.gen_iter == first_gen_iter:
            raise NoGeneratorStepError(
                f"GAN: epoch {epoch} had no generator step (k={self.k}, "
                f"{self.current_batch - self.last_gen_batch} minibatches since the last one); "
                "neon needs at least one per epoch for the epoch cost. Use more minibatches "
                "per epoch or a smaller k."
            )
        self.run_state.total_cost = total / (self.gen_iter - first_gen_iter)
        self.run_state.last_output = None
        shape = self.layers.discriminator.in_shape
        if x is not None:
            self.data_batch = NeonTensor(batch_first_to_neon(x.detach(), shape))
        with torch.no_grad():
            self.noise_batch = NeonTensor(batch_first_to_neon(gen(self.z0), shape))

    def fprop_gen(self, x: Tensor, inference: bool = False) -> Tensor:
        """The generator's output for noise ``x`` (batch-first)."""
        self._set_mode(not inference)
        with torch.set_grad_enabled(not inference):
            return self.layers.generator(x)

    def fprop_dis(self, x: Tensor, inference: bool = False) -> Tensor:
        """The discriminator's output for samples ``x`` (batch-first)."""
        self._set_mode(not inference)
        with torch.set_grad_enabled(not inference):
            return self.layers.discriminator(x)


def _zero_grads(module: torch.nn.Module) -> None:
    for param in module.parameters():
        param.grad = None
