"""The backend (device, dtype, global batch size, neon's numpy random stream) and
``NervanaObject``, the base of neon's named objects that holds the global ``be``."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import torch

from .._object import Describable
from ..distributed.state import init_from_env, local_rank
from ..errors import BackendError, UnsupportedNeonFeature, reset_warnings, warn_once
from .ops import TensorOps

__all__ = ["Backend", "NervanaObject", "cleanup_backend", "current_backend", "gen_backend"]

_BACKENDS = {"cpu": "NervanaCPU", "mkl": "NervanaMKL", "gpu": "NervanaGPU"}
_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
# reduced precisions run as autocast over float32 parameters (mixed precision)
_AMP = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class NervanaObject(Describable):
    """Base of named neon objects.

    neon semantics: an object built with ``name=None`` is named ``<ClassName>_<k>`` where ``k``
    is a per-class counter read before it is incremented. Every construction increments the
    counter of its own class, even when a name is given, and the counter goes down again when an
    object is garbage-collected, so names are reused (``Linear_0`` in a fresh process). A class
    that was never instantiated starts from the counter of its nearest ancestor.

    ``NervanaObject.be`` is the backend made by the last :func:`~neon_torch.backends.gen_backend`.
    """

    # None until gen_backend runs; neon code reads ``self.be`` as always set, so it is typed so
    be: Backend = None  # type: ignore[assignment]  # unset until gen_backend
    _name_counter: ClassVar[int] = 0

    def __init__(self, name: str | None = None) -> None:
        cls = type(self)
        count = cls._name_counter
        self.name = name if name is not None else f"{cls.__name__}_{count}"
        cls._name_counter = count + 1
        self._counted = True

    def __del__(self) -> None:
        if self.__dict__.get("_counted"):
            type(self)._name_counter -= 1

    @property
    def classnm(self) -> str:
        """The class name (neon attribute)."""
        return type(self).__name__


def _amp_dtype(datatype: Any) -> torch.dtype | None:
    """``torch.float16`` / ``torch.bfloat16`` for a reduced-precision ``datatype``, else None."""
    if datatype is torch.float16 or datatype is torch.bfloat16:
        return datatype
    if isinstance(datatype, str):
        return _AMP.get(datatype)
    try:
        return _AMP.get(np.dtype(datatype).name)
    except TypeError:
        return None


class Backend(TensorOps):
    """What neon scripts reach as ``be`` / ``NervanaObject.be``, mapped onto PyTorch.

    It carries neon 2.6's tensor API (:class:`~neon_torch.backends.ops.TensorOps`):
    ``be.empty``/``zeros``/``ones``/``array``/``iobuf`` allocate backend
    :class:`~neon_torch.backends.tensor.Tensor` objects on ``device``, and element-wise,
    reduction and ``dot``/``compound_dot`` operations evaluate neon's op-trees eagerly in torch.

    Attributes:
        bsz: the global minibatch size. Scripts may assign it (``be.bsz = 1``) before building
            a model; optimizers divide summed gradients by it (neon's gradient convention).
        rng: ``numpy.random.RandomState(rng_seed)``, neon's stream for initializers and, on the
            CPU, Dropout masks; drawing from it reproduces neon 2.6's CPU backend bit for bit.
        rng_seed: the seed given to :func:`gen_backend`.
        device: the ``torch.device`` everything runs on.
        datatype / default_dtype: the numpy dtype of parameters and data.
        torch_dtype: the matching torch dtype.
        compat_mode: ``None`` or ``'caffe'``.
        generator: a ``torch.Generator`` on ``device``, seeded from ``rng_seed``; used for
            Dropout masks on CUDA (neon_torch extension).
        channels_last: convolution layers keep 4-D images and weights in torch's
            ``channels_last`` memory format (neon_torch extension; see :func:`gen_backend`).
        amp_dtype: ``torch.float16`` or ``torch.bfloat16`` when the backend was made with a
            reduced-precision ``datatype`` (mixed precision), else None.
        compile_options: keyword arguments for ``torch.compile`` of the model, or None.
    """

    def __init__(
        self,
        name: str,
        device: torch.device,
        rng_seed: int | None,
        datatype: Any,
        compat_mode: str | None,
        device_id: int,
    ) -> None:
        self.name = name
        self.type = _BACKENDS[name]
        self.device = device
        self.device_id = device_id
        self.rng_seed = rng_seed
        self.rng = np.random.RandomState(rng_seed)
        self.amp_dtype = _amp_dtype(datatype)
        # parameters and data stay float32 under mixed precision (master weights)
        self.datatype = np.dtype(np.float32) if self.amp_dtype else np.dtype(datatype)
        self.default_dtype = self.datatype
        self.torch_dtype = _DTYPES[self.datatype]
        self.compile_options: dict[str, Any] | None = None
        self.compat_mode = compat_mode
        self.bsz = 0
        self.channels_last = False
        self.generator = torch.Generator(device=device)
        if rng_seed is not None:
            self.generator.manual_seed(int(rng_seed))
        else:
            self.generator.seed()

    def rng_get_state(self) -> tuple[Any, ...]:
        """The numpy RandomState state tuple (what neon stores as ``rng_state``)."""
        return cast("tuple[Any, ...]", self.rng.get_state())  # legacy=True: a tuple

    def rng_set_state(self, state: tuple[Any, ...]) -> None:
        """Restore a state returned by :meth:`rng_get_state`."""
        self.rng.set_state(state)

    def rng_reset(self) -> None:
        """Re-seed the stream with ``rng_seed``."""
        self.rng.seed(self.rng_seed)

    def gen_rng(self, seed: int | None = None) -> np.random.RandomState:
        """Replace ``rng`` by a new ``numpy.random.RandomState(seed)`` and return it (neon)."""
        self.rng = np.random.RandomState(seed)
        return self.rng

    def check_caffe_compat(self) -> bool:
        """True when the backend runs in caffe compatibility mode."""
        return self.compat_mode == "caffe"

    def __repr__(self) -> str:
        return (
            f"Backend({self.name!r}, device={self.device}, dtype={self.datatype}, "
            f"bsz={self.bsz}, rng_seed={self.rng_seed})"
        )


def gen_backend(
    backend: str = "cpu",
    rng_seed: int | None = None,
    datatype: Any = np.float32,
    batch_size: int = 0,
    stochastic_round: bool = False,
    device_id: int = 0,
    max_devices: int | None = None,
    compat_mode: str | None = None,
    deterministic_update: bool | None = None,
    deterministic: bool | None = None,
    *,
    channels_last: bool = False,
    cudnn_benchmark: bool = False,
    compile: bool | str | dict[str, Any] = False,
) -> Backend:
    """Create the global backend, store it in ``NervanaObject.be`` and return it.

    neon semantics: ``'cpu'`` and ``'mkl'`` run on the CPU, ``'gpu'`` on CUDA device
    ``device_id``. The previous backend is replaced. ``batch_size`` becomes ``be.bsz`` (neon's
    default is 0; scripts often assign ``be.bsz`` later). ``rng_seed`` seeds
    ``numpy.random.RandomState`` exactly as neon's CPU backend does.

    Launched by ``torchrun`` with several processes, it also starts the ``torch.distributed``
    process group (NCCL for ``'gpu'``, gloo on the CPU) and ``'gpu'`` uses device
    ``device_id + LOCAL_RANK``; ``batch_size`` is then the global minibatch size, split over
    the ranks (``docs/distributed.md``).

    ``datatype=np.float16`` (neon's half precision) or ``'bfloat16'`` runs mixed precision:
    parameters, optimizer states and data stay float32 and the forward runs under
    ``torch.autocast`` in that type; float16 also scales the loss dynamically (as
    ``torch.amp.GradScaler``), skipping steps whose gradients overflow, which reads one flag
    from the device per step. Results differ from float32 by the rounding of the reduced type
    (about 1e-3 relative for float16, 1e-2 for bfloat16); neon's own float16 kept its weights in
    half precision, which neon_torch does not copy.

    Options that mean nothing on PyTorch (``stochastic_round``, ``max_devices``,
    ``deterministic_update``, ``deterministic``) are accepted with a one-time warning.

    Two keyword-only options are neon_torch's own, for convolutional networks on CUDA:
    ``channels_last=True`` stores 2-D convolution inputs and weights in torch's NHWC memory
    format (faster cuDNN kernels on tensor-core GPUs, above all with reduced precision; little
    or no gain in float32 on the CPU); ``cudnn_benchmark=True`` sets
    ``torch.backends.cudnn.benchmark`` so cuDNN times its algorithms on the first minibatch of
    each shape (helps when shapes stay fixed, costs time when they vary). Neither changes
    results beyond float rounding. ``compile=True`` (or a mode string such as
    ``'reduce-overhead'``, which captures CUDA graphs for fixed-shape steps, or a dict of
    ``torch.compile`` keyword arguments) runs the model through ``torch.compile`` in ``fit``,
    ``eval`` and ``get_outputs``; the first minibatch pays the compilation.

    Raises:
        BackendError: unknown backend name, ``'gpu'`` without CUDA, or an invalid
            ``compat_mode``.
        UnsupportedNeonFeature: a ``datatype`` other than float32, float64, float16 or
            bfloat16.
    """
    batch_size = _batch_size(batch_size)
    if backend not in _BACKENDS:
        raise BackendError(
            f"Unknown backend {backend!r}; expected one of {sorted(_BACKENDS)} "
            "('cpu' and 'mkl' run on the CPU, 'gpu' on CUDA)."
        )
    if compat_mode not in (None, "caffe"):
        raise BackendError(f"compat_mode must be None or 'caffe', got {compat_mode!r}.")
    if _amp_dtype(datatype) is None and np.dtype(datatype) not in _DTYPES:
        raise UnsupportedNeonFeature(
            f"datatype {datatype!r} is not supported; use np.float32 (neon's default), "
            "np.float16 or 'bfloat16' (mixed precision) "
            "or np.float64."
        )
    for option, value, default in (
        ("stochastic_round", stochastic_round, False),
        ("max_devices", max_devices, None),
        ("deterministic_update", deterministic_update, None),
        ("deterministic", deterministic, None),
    ):
        if value != default:
            warn_once(
                f"gen_backend.{option}",
                f"gen_backend({option}={value!r}) has no effect on PyTorch and is ignored.",
            )
    if backend == "gpu":
        if not torch.cuda.is_available():
            raise BackendError(
                "gen_backend('gpu') needs CUDA, but torch.cuda.is_available() is False "
                f"(torch {torch.__version__}). Use backend='cpu' or install a CUDA build of torch."
            )
        device_id += local_rank()  # under torchrun: one GPU per process of the node
        if device_id >= torch.cuda.device_count():
            raise BackendError(
                f"device_id={device_id} but only {torch.cuda.device_count()} CUDA device(s) exist."
            )
        device = torch.device("cuda", device_id)
    else:
        device = torch.device("cpu")
    init_from_env(device)  # launched by torchrun: NCCL (CUDA) or gloo (CPU) process group
    _restore_torch_settings()  # what an earlier backend changed is not this one's
    be = Backend(backend, device, rng_seed, datatype, compat_mode, device_id)
    be.bsz = int(batch_size)
    be.channels_last = bool(channels_last)
    be.compile_options = _compile_options(compile)
    if cudnn_benchmark:
        _TORCH_SETTINGS.setdefault("cudnn.benchmark", torch.backends.cudnn.benchmark)
        torch.backends.cudnn.benchmark = True
    NervanaObject.be = be
    return be


def _batch_size(value: Any) -> int:
    """``batch_size`` as a non-negative int (0: set ``be.bsz`` later), else a BackendError."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if isinstance(value, str) and value.strip().isdigit():
        value, ok = int(value), True
    if not ok or int(value) < 0:
        raise BackendError(
            f"gen_backend: batch_size must be a non-negative integer (0 = set be.bsz later), "
            f"got {value!r}."
        )
    return int(value)


def _compile_options(value: bool | str | dict[str, Any]) -> dict[str, Any] | None:
    if value is False or value is None:
        return None
    if value is True:
        return {}
    if isinstance(value, str):
        return {"mode": value}
    if isinstance(value, dict):
        return dict(value)
    raise BackendError(
        f"compile must be True/False, a torch.compile mode string or a dict of torch.compile "
        f"arguments, got {value!r}."
    )


# torch's own global settings that gen_backend changed, with the values they had before
_TORCH_SETTINGS: dict[str, Any] = {}


def _restore_torch_settings() -> None:
    if "cudnn.benchmark" in _TORCH_SETTINGS:
        torch.backends.cudnn.benchmark = _TORCH_SETTINGS.pop("cudnn.benchmark")


def cleanup_backend() -> None:
    """Undo what :func:`gen_backend` set (neon's ``cleanup_backend``): the global backend is
    dropped, torch settings it changed (``cudnn.benchmark``) get their earlier values back and
    the once-only compatibility warnings may show again. A torchrun process group stays (it
    lives until the process exits)."""
    _restore_torch_settings()
    reset_warnings()
    NervanaObject.be = None  # type: ignore[assignment]  # no backend until the next gen_backend


def current_backend() -> Backend:
    """The global backend, the one the last :func:`gen_backend` made.

    When there is none (a script that never called ``gen_backend``; neon itself would fail on
    ``NervanaObject.be`` being None), this is the single documented default:
    ``gen_backend()`` with neon's defaults (``'cpu'``, float32, batch size 0), made once and
    kept as the global backend.
    """
    be = NervanaObject.be
    if be is None:
        be = gen_backend()
    return be
