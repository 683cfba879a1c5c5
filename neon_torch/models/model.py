"""neon's ``Model``: initialize, fit, eval, get_outputs and descriptions, on PyTorch."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from .. import distributed
from .._types import CallbacksLike, CostLike, Dataset, MetricLike, OptimizerArg
from .._values import neon_values
from .._version import NEON_VERSION
from ..backends.backend import Backend, NervanaObject, current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..convert._convert import container_module
from ..data.dataiterator import NervanaDataIterator
from ..errors import NotConfiguredError, ShapeMismatchError, warn_once
from ..layers._base import ParameterLayer
from ..layers.container import LayerContainer, Sequential
from ..layout import batch_first_sample_dims, is_sequence_shape
from ..registry import neon_type
from ..serialization import model_io
from ..transforms._neon_style import to_neon
from . import _benchmark, _loop, _speed
from ._data import (
    as_batches,
    dataset_shape,
    first_batch,
    from_neon_input,
    prepare_target,
    to_device,
    to_neon_output,
)
from ._state import RunState

__all__ = ["Model"]


@neon_type("neon.models.model.Model", "neon.models.Model")
class Model(NervanaObject):
    """A neon model: a root layer container plus neon's training life cycle.

    ``layers`` is a list of layers (wrapped in :class:`~neon_torch.layers.Sequential`; nested
    lists and compound layers such as ``Affine`` are flattened) or a container.

    neon semantics kept:

    * shapes come from the data: ``initialize(dataset, cost)`` configures every layer from
      ``dataset.shape`` (or from the first minibatch of a plain iterable) and allocates the
      parameters, once;
    * ``fit`` runs ``num_epochs`` epochs counted by ``epoch_index`` (so a later ``fit`` with a
      larger ``num_epochs`` continues), reports ``cost.cost`` per minibatch and ``total_cost``
      per epoch, and calls the callbacks in neon's order;
    * ``eval`` and ``get_outputs`` run in inference mode and reset neon iterators first.

    PyTorch side: ``model.module`` (also ``model.layers``) is the ``torch.nn.Module`` holding
    every parameter, usable with any PyTorch code. Data may be a neon iterator, a
    ``torch.utils.data.DataLoader`` or any iterable of ``(x, t)`` minibatches; tensors are
    batch-first. Integer class labels are one-hot encoded to the output width.
    """

    #: in a data-parallel job, ``initialize`` wraps the layers in DDP and ``fit`` trains
    #: through the wrapper (``GAN``'s own loop does not)
    data_parallel: ClassVar[bool] = True

    def __init__(
        self,
        layers: Any,
        dataset: Any = None,
        weights_only: bool = False,
        name: str = "model",
        optimizer: OptimizerArg | None = None,
    ) -> None:
        super().__init__(name)
        loaded = None
        if isinstance(layers, (str, os.PathLike, dict)):
            layers, loaded = model_io.layers_from(layers)
        if dataset is not None:
            warn_once("Model.dataset", "Model(dataset=...) is deprecated in neon and ignored.")
        self.layers: LayerContainer = (
            layers if isinstance(layers, LayerContainer) else Sequential(layers)
        )
        if hasattr(self.layers, "layer_dict"):  # neon's SkipThought names its parts here
            self.layer_dict = self.layers.layer_dict
        self.weights_only = weights_only
        self.optimizer: Any = optimizer
        self.cost: Any = None
        self.epoch_index = 0
        self.finished = False
        self.initialized = False
        self.nbatches = 0
        self.ndata = 0
        #: what the model keeps between calls (:class:`~neon_torch.models._state.RunState`)
        self.run_state = RunState()
        if loaded is not None:
            model_io.load_into(self, loaded, load_states=not weights_only)

    @property
    def be(self) -> Backend:  # type: ignore[override]  # a read-only view of the class slot
        """The current backend, read at every access (a script that calls ``gen_backend``
        again is seen at once; nothing about the backend is cached on the model)."""
        return current_backend()

    # -- the torch side --------------------------------------------------------------------
    @property
    def module(self) -> nn.Module:
        """The root ``torch.nn.Module`` (the layer container)."""
        return self.layers

    @property
    def layers_to_optimize(self) -> list[ParameterLayer]:
        """Parameter layers in neon's order (depth-first), without frozen ones."""
        return self.layers.layers_to_optimize()

    @property
    def total_cost(self) -> np.ndarray | None:
        """Mean cost of the last training epoch, ``(1, 1)`` float32 (neon: sum / nbatches)."""
        if self.run_state.total_cost is None:
            return None
        return neon_values(self.run_state.total_cost.detach().cpu(), (1, 1))

    # -- life cycle -------------------------------------------------------------------------
    def initialize(self, dataset: Any, cost: CostLike | None = None) -> None:
        """Configure shapes from ``dataset`` and allocate parameters; runs once.

        ``dataset`` may be an iterator with ``shape``, a plain iterable of ``(x, t)``, or a
        shape (int or tuple). neon returns at once when already initialized; neon_torch still
        registers a ``cost`` given then if the model has none (neon would crash in ``fit``).
        """
        if self.initialized and self.run_state.configured_from_file:
            # neon configures a loaded model from the data given to initialize (e.g. one step
            # at a time for generation); the file's training shape was only a stand-in
            self.run_state.configured_from_file = False
            shape = self._shape_of(dataset)
            # a Seq2Seq file may record a one-step decoder (neon saves it in inference mode)
            seq2seq = getattr(self.layers, "configured_shape", None)
            if seq2seq is not None:
                full = shape if isinstance(shape, tuple) and len(shape) == 4 else shape * 2
                if seq2seq != full:
                    self.layers.configure(shape)
            elif shape != self.layers.in_shape:
                self.layers.configure(shape)
        if self.initialized:
            if cost is not None and self.cost is None:
                cost.initialize(self.layers)
                self.cost = cost
            return
        be = current_backend()
        if be.bsz <= 0 and not isinstance(dataset, (int, tuple)):
            be.bsz = self._batch_size_of(dataset)
        self.layers.configure(self._shape_of(dataset))
        if self.run_state.pending_load is not None:
            model_io.apply_pending(self)
        else:
            self.layers.allocate()
        if cost is not None:
            cost.initialize(self.layers)
            self.cost = cost
        if self.data_parallel:  # wrapped after allocation, never before
            self.run_state.ddp = distributed.wrap(self.layers)
        self.initialized = True
        self._initialized()

    def _initialized(self) -> None:
        """Called once, at the end of the first ``initialize``; subclasses add their own
        first-time set-up here (``GAN`` draws its fixed noise)."""

    def _shape_of(self, dataset: Any) -> Any:
        """The shape to configure the layers with: the dataset's input shape, for a
        ``Seq2Seq`` joined with its ``decoder_shape`` into neon's 4-tuple."""
        shape = dataset_shape(dataset)
        decoder_shape = getattr(dataset, "decoder_shape", None)
        if (
            decoder_shape is not None
            and hasattr(self.layers, "decoder")
            and isinstance(shape, tuple)
            and isinstance(decoder_shape, tuple)
            and len(shape) == len(decoder_shape) == 2
        ):
            return (*shape, *decoder_shape)
        return shape

    @staticmethod
    def _batch_size_of(dataset: Any) -> int:
        if isinstance(dataset, NervanaDataIterator):
            raise ValueError("be.bsz is 0; pass batch_size to gen_backend (or set be.bsz).")
        bsz = getattr(dataset, "batch_size", None)
        if not bsz:
            x, _ = first_batch(dataset)
            bsz = len(x[0] if isinstance(x, (list, tuple)) else x)
        # documented default (README): the loader's batch size is the gradient divisor
        return int(bsz) * distributed.world_size()  # data parallel: each rank's loader a shard

    def _check_input(self, x: Any) -> None:
        expected = self.layers.in_shape
        got = tuple(x.shape[1:])
        want = batch_first_sample_dims(expected)  # batch-first sequences are (N, T, F)
        if got != want:
            first = self.layers.layers[0] if hasattr(self.layers, "layers") else self.layers
            raise ShapeMismatchError(
                f"Layer {first.name!r} was initialized for samples of shape {expected} "
                f"(batch-first {want}), but received a batch of shape {tuple(x.shape)}. Feed "
                "data with the same features, or build a new Model for this data."
            )

    def _check_dataset(self, dataset: Any) -> None:
        shape = getattr(dataset, "shape", None)
        if shape is not None and not isinstance(shape, list) and shape != self.layers.in_shape:
            raise ShapeMismatchError(
                f"The dataset's samples have shape {shape}, but the model was initialized for "
                f"{self.layers.in_shape}. Use data with the same features, or a new Model."
            )

    def _require_initialized(self) -> None:
        if not self.initialized:
            raise NotConfiguredError(
                "The model is not initialized. Call model.initialize(dataset) (or fit, eval or "
                "get_outputs, which do it) first."
            )

    def _set_mode(self, training: bool) -> None:
        if self.layers.training != training:
            self.layers.train(training)

    def fprop(self, x: Any, inference: bool = False) -> Any:
        """Forward pass of one minibatch; ``inference=True`` uses inference behaviour (no
        autograd graph, Dropout scaled by keep, BatchNorm running statistics).

        ``x`` is a batch-first tensor (``(N, *in_shape)``; the output is one too), or a backend
        :class:`~neon_torch.backends.tensor.Tensor` in neon's ``(features, batch)`` layout such
        as ``be.iobuf``/``be.array`` make: the output is then a backend Tensor in neon's layout
        (``(nout, N)``, ``(nout, T·N)`` for sequences), read with ``.get()``, as in neon. A
        stateful recurrent first layer carries its state between calls on the same buffer.
        """
        self._require_initialized()
        neon_in = isinstance(x, NeonTensor) or (
            isinstance(x, (list, tuple)) and bool(x) and isinstance(x[0], NeonTensor)
        )
        if neon_in:
            x = from_neon_input(x, self.layers.in_shape, None)
        if not isinstance(x, Tensor) or x.device != current_backend().device:
            x = to_device(x, current_backend())
        if not isinstance(x, list):
            self._check_input(x)
        self.run_state.input = None
        if neon_in and not inference and not isinstance(x, list) and x.is_floating_point():
            source = x.neon_source
            x = x.detach().requires_grad_()  # bprop returns the input error, as neon does
            x.neon_source = source
            self.run_state.input = x
        self._set_mode(not inference)
        be = current_backend()
        run = _speed.runner(self, be)
        with torch.set_grad_enabled(not inference), _speed.autocast(be):
            y = run(x)
        if inference and be.amp_dtype is not None:  # outputs in full precision
            y = [v.to(be.torch_dtype) for v in y] if isinstance(y, list) else y.to(be.torch_dtype)
        self.run_state.last_output = y
        return to_neon_output(y, self.layers.out_shape) if neon_in else y

    def bprop(self, delta: Any) -> Any:
        """Back-propagate ``delta`` (neon's error for the last ``fprop`` output) into the
        parameters' ``.grad``.

        ``delta`` is batch-first like the output, or a backend Tensor in neon's layout. After
        an ``fprop`` of a backend Tensor it returns the error for that input, a backend Tensor
        in the input's neon layout (None for integer inputs such as word indices); after a
        torch input it returns None.
        """
        last = self.run_state.last_output
        if last is None or not last.requires_grad:
            raise NotConfiguredError("bprop needs a preceding fprop(x, inference=False).")
        if isinstance(delta, NeonTensor):
            received = delta.shape
            delta = from_neon_input(delta, self.layers.out_shape, None)
            if delta.shape != last.shape:
                raise ShapeMismatchError(
                    f"bprop received a delta of neon shape {received}, which does not match "
                    f"the last output (batch-first {tuple(last.shape)}); pass the error of the "
                    "last fprop's output."
                )
        for param in self.layers.parameters():  # neon's bprop overwrites dW, never adds to it
            param.grad = None
        last.backward(delta.to(last.dtype))
        x = self.run_state.input
        if x is None or x.grad is None:
            return None
        return to_neon_output(x.grad, self.layers.in_shape)

    def fit(
        self,
        dataset: Dataset,
        cost: CostLike,
        optimizer: OptimizerArg,
        num_epochs: int,
        callbacks: CallbacksLike | None = None,
    ) -> None:
        """Train until ``epoch_index`` reaches ``num_epochs`` (or a callback sets ``finished``).

        Per minibatch, as neon: forward in training mode, ``cost.get_cost`` (the batch mean,
        kept on the device), backward of neon's delta (summed gradients), one
        ``optimizer.optimize(layers_to_optimize, epoch)``. ``total_cost`` is the sum of the
        epoch's costs divided by ``dataset.nbatches`` read after the epoch.

        Data parallel (a ``torch.distributed`` job, ``docs/distributed.md``): the layers train
        through ``DistributedDataParallel``, each rank reading its slice of every global
        minibatch of ``be.bsz`` samples; costs are the global ones on every rank.
        """
        be = current_backend()
        distributed.check_dataset(dataset, be.bsz, be.device)
        self.optimizer = optimizer
        self.nbatches = _loop.nbatches(dataset)
        self.ndata = getattr(dataset, "ndata", 0)
        self.initialize(dataset, cost)
        self._check_dataset(dataset)
        model_io.restore_optimizer_state(self, optimizer)
        try:
            _loop.fit(self, dataset, cost, optimizer, num_epochs, callbacks)
        except BaseException:
            abort = getattr(callbacks, "on_train_abort", None)
            if abort is not None:  # e.g. Callbacks restores the SIGINT handler
                abort()
            raise

    def eval(self, dataset: Dataset, metric: MetricLike) -> np.ndarray:
        """Metric values (``metric.metric_names`` order) averaged over the dataset's samples.

        Wrapped samples of a neon iterator's last minibatch are left out. Returns a float32
        array of shape ``(len(metric.metric_names),)``. Data parallel: every rank evaluates its
        share and returns the value over all samples.
        """
        self.initialize(dataset)
        total = np.zeros(len(metric.metric_names), dtype=np.float64)
        weight = 0
        flat = not is_sequence_shape(self.layers.out_shape)
        for y, t, n in _loop.inference_outputs(self, dataset):
            if flat and isinstance(y, Tensor) and y.dim() > 2:  # images: neon's (C·H·W) rows
                y = y.reshape(y.shape[0], -1)
            t = prepare_target(t, y)
            if flat and isinstance(t, Tensor) and t.dim() > 2:
                t = t.reshape(t.shape[0], -1)
            if n == 0:  # this rank's slice holds only wrap-around samples
                continue
            steps = int(np.prod(y.shape[1:-1])) if y.dim() > 2 else 1
            if getattr(metric, "_neon_style", False):  # a metric written on neon's layout
                value = metric(to_neon(y), to_neon(t), calcrange=slice(0, n))
            else:
                value = metric(y, t, calcrange=slice(0, n))
            values = np.atleast_1d(np.asarray(value, np.float64))
            total += values * n * steps
            weight += n * steps
        sums = distributed.sum_across_ranks(np.append(total, weight), current_backend().device)
        return neon_values(sums[:-1] / max(sums[-1], 1))

    def get_outputs(self, dataset: Dataset) -> np.ndarray:
        """Inference outputs for every sample: ``(ndata, nout)``, or ``(ndata, T, nout)`` for
        sequence outputs; image outputs are flattened in (C, H, W) order, as neon's. Data
        parallel: every rank returns all outputs (a DataLoader's in rank order)."""
        self.initialize(dataset)
        outputs = [y for y, _, _ in _loop.inference_outputs(self, dataset)]
        y = torch.cat(outputs)
        if distributed.is_distributed():
            slice_rows = outputs[0].shape[0] if distributed.shards(dataset) else None
            y = distributed.gather_outputs(y, slice_rows)
        if not is_sequence_shape(self.layers.out_shape) and y.dim() > 2:
            y = y.reshape(y.shape[0], -1)
        ndata = getattr(dataset, "ndata", None)
        if ndata is not None:
            y = y[:ndata]
        return y.cpu().numpy()

    def get_outputs_beam(
        self, dataset: Dataset, num_beams: int = 0, steps: int | None = None
    ) -> Any:
        """Outputs of a :class:`~neon_torch.layers.Seq2Seq` model for every sample.

        neon semantics: ``num_beams=0`` gives :meth:`get_outputs`; otherwise each minibatch goes
        through :class:`~neon_torch.util.beamsearch.BeamSearch` and the result holds token
        indices (float32): ``(ndata, steps, 1)`` when ``steps`` equals the dataset's
        ``seq_length``, else ``(ndata, steps)``.
        """
        from ..util.beamsearch import BeamSearch

        if num_beams <= 0:
            return self.get_outputs(dataset)
        be = current_backend()
        self.initialize(dataset)
        if hasattr(dataset, "reset"):
            dataset.reset()
        self._set_mode(False)
        search = BeamSearch(self.layers)
        tokens = [
            search.beamsearch(x, num_beams, steps=steps).get().T for x, _ in as_batches(dataset, be)
        ]
        y = np.concatenate(tokens).astype(np.float32)  # (nbatches·bsz, steps)
        if y.shape[1] == getattr(dataset, "seq_length", None):
            y = y.reshape(y.shape[0], y.shape[1], 1)
        return y[: getattr(dataset, "ndata", len(y))]

    def eval_loss(self, dataset: Any) -> float:
        """Mean per-sample cost of ``dataset`` in inference mode, with the cost given to
        ``fit`` (neon's ``LossCallback`` rule: the per-sample costs of the valid samples summed,
        over steps averaged, divided by their count). Data parallel: over every rank's samples.
        A neon_torch addition (neon computes this inside ``LossCallback``)."""
        self._require_initialized()
        be = current_backend()
        loss = torch.zeros((), dtype=torch.float64, device=be.device)
        count = 0
        for y, t, n in _loop.inference_outputs(self, dataset):
            self.cost.batch_cost(y, prepare_target(t, y))
            per_sample = self.cost.outputs.reshape(y.shape[0], -1)
            loss += per_sample[:n].sum() / per_sample.shape[1]
            count += n
        sums = distributed.sum_across_ranks(np.array([float(loss), count]), be.device)
        return float(sums[0]) / max(float(sums[1]), 1.0)

    def benchmark(
        self,
        dataset: Dataset,
        inference: bool = False,
        cost: CostLike | None = None,
        optimizer: OptimizerArg | None = None,
        niterations: int = 20,
        nskip: int = 2,
    ) -> dict[str, dict[str, float]]:
        """neon's ``benchmark``: time ``nskip`` + ``niterations`` minibatches (the dataset is
        re-read as often as needed) and keep the last ``niterations``: forward, and unless
        ``inference`` backward + optimizer step (the weights really change, at epoch 0).
        Each phase ends with a device synchronisation. Prints neon's table and returns
        ``{'fprop': {...}, 'bprop': {...}, 'iteration': {...}}`` of ``mean``/``median``/``min``/
        ``max`` in milliseconds (``bprop`` only when training)."""
        return _benchmark.benchmark(self, dataset, inference, cost, optimizer, niterations, nskip)

    # -- description ------------------------------------------------------------------------
    def get_description(  # type: ignore[override]  # neon's Model takes weight flags, not skip
        self, get_weights: bool = False, keep_states: bool = False
    ) -> dict:
        """neon's description: ``neon_version``, ``backend``, ``cost``, ``optimizer`` and
        ``model`` (the layer tree; with ``get_weights`` each parameter layer gains ``params``
        as numpy arrays in neon layout, and with ``keep_states`` its optimizer ``states``)."""
        be = current_backend()
        desc: dict[str, Any] = {
            "neon_version": NEON_VERSION,
            "backend": {
                "type": be.type,
                "compat_mode": be.compat_mode or "neon",
                "rng_seed": be.rng_seed,
                "rng_state": be.rng_get_state(),
            },
        }
        if self.cost is not None:
            desc["cost"] = self.cost.get_description()
        if self.optimizer is not None:
            desc["optimizer"] = self.optimizer.get_description()
        desc["model"] = self.layers.layer_description(get_weights, keep_states)
        return desc

    # -- files (logic in neon_torch.serialization.model_io) --------------------------------
    def serialize(self, fn: str | os.PathLike[str] | None = None, keep_states: bool = True) -> Any:
        """neon's ``serialize``: the description with weights, ``epoch_index`` (stored as
        ``epoch_index + 1``, as neon does) and ``train_input_shape``; with ``fn`` it is written
        there as a neon_torch ``.prm`` (by rank 0 alone in a data-parallel job) and None is
        returned."""
        if fn is not None:
            if distributed.is_rank_zero():
                model_io.save_params(self, fn, keep_states)
            return None
        return model_io.serialize(self, keep_states)

    def save_params(self, param_path: str | os.PathLike[str], keep_states: bool = True) -> None:
        """Write the weights (and optimizer states) to ``param_path`` as a neon_torch ``.prm``:
        one safetensors file, written atomically (see ``docs/prm_format.md``). In a
        data-parallel job only rank 0 writes (every rank holds the same weights); the others
        return at once."""
        if distributed.is_rank_zero():
            model_io.save_params(self, param_path, keep_states)

    def load_params(self, param_path: str | os.PathLike[str], load_states: bool = True) -> None:
        """Load weights (and, with ``load_states``, optimizer states, the RNG state and the
        counters) from a neon_torch ``.prm`` or a neon-written pickle, matched by position.
        A failure leaves the model unchanged."""
        model_io.load_into(self, param_path, load_states)

    def load_weights(self, weight_path: str | os.PathLike[str]) -> None:
        """Deprecated neon alias of :meth:`load_params`."""
        model_io.load_into(self, weight_path, True)

    def deserialize(self, model_dict: dict, data: Any = None, load_states: bool = True) -> None:
        """Load a description dict (as returned by :meth:`serialize`) into this model."""
        if data is not None:
            warn_once("Model.deserialize.data", "deserialize(data=...) is ignored, as in neon.")
        model_io.load_into(self, model_dict, load_states)

    def to_torch(self) -> nn.Module:
        """A plain ``torch.nn.Module`` equal to this model at inference (weights copied);
        see :func:`neon_torch.convert.to_torch_module`."""
        return container_module(self)

    def __str__(self) -> str:
        return "Network Layers:\n" + self.layers.nested_str()
