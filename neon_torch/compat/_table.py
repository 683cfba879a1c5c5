"""Which neon 2.6 module paths the shim provides, where their names come from, and the public
neon names neon_torch does not provide (with the reason shown in the error and docs/compat.md).

A neon module resolves a name, in order: the registry (``neon.<module>.<Name>`` type strings),
then ``EXTRA`` (non-class names), then the public names of the listed neon_torch modules.

:data:`NEON_API` is neon 2.6's own list of modules and public names, read from neon's source
tree by ``tools/neon_api.py`` (``neon_api.json``): every real neon module imports under the
shim unless :func:`module_reason` gives a reason, and a real neon name that does not resolve
is reported as "not provided" with its reason, while a name neon never had is reported so.
"""

from __future__ import annotations

import json
from importlib import resources

#: neon 2.6's modules and their public names (generated from neon's source; see above).
NEON_API: dict[str, list[str]] = json.loads(
    resources.files(__package__).joinpath("neon_api.json").read_text(encoding="utf-8")
)

_LAYERS = ("neon_torch.layers",)
_TRANSFORMS = ("neon_torch.transforms",)
_DATA = ("neon_torch.data",)
_BACKENDS = ("neon_torch.backends", "neon_torch.backends.backend")

#: neon module path -> neon_torch modules whose public names it exports.
MODULES: dict[str, tuple[str, ...]] = {
    "neon": ("neon_torch",),
    "neon.backends": _BACKENDS,
    "neon.backends.backend": _BACKENDS,
    "neon.backends.nervanacpu": _BACKENDS,
    "neon.backends.nervanagpu": _BACKENDS,
    "neon.backends.nervanamkl": _BACKENDS,
    "neon.layers": _LAYERS,
    "neon.layers.layer": _LAYERS,
    "neon.layers.container": _LAYERS,
    "neon.layers.recurrent": _LAYERS,
    "neon.transforms": _TRANSFORMS,
    "neon.transforms.transform": _TRANSFORMS,
    "neon.transforms.activation": _TRANSFORMS,
    "neon.transforms.cost": _TRANSFORMS,
    "neon.optimizers": ("neon_torch.optimizers",),
    "neon.optimizers.optimizer": ("neon_torch.optimizers",),
    "neon.initializers": ("neon_torch.initializers",),
    "neon.initializers.initializer": ("neon_torch.initializers",),
    "neon.callbacks": ("neon_torch.callbacks",),
    "neon.callbacks.callbacks": ("neon_torch.callbacks",),
    "neon.callbacks.plotting_callbacks": ("neon_torch.callbacks.plotting_callbacks",),
    "neon.data": _DATA,
    "neon.data.dataiterator": _DATA,
    "neon.data.datasets": _DATA,
    "neon.data.hdf5iterator": _DATA,
    "neon.data.image": _DATA,
    "neon.data.imagecaption": _DATA,
    "neon.data.text": _DATA,
    "neon.data.ticker": _DATA,
    "neon.data.questionanswer": _DATA,
    "neon.data.text_preprocessing": ("neon_torch.data.text_preprocessing",),
    "neon.data.aeon_shim": ("neon_torch.data.aeon",),
    "neon.data.dataloaderadapter": ("neon_torch.data.dataloader_transformers",),
    "neon.data.dataloader_transformers": ("neon_torch.data.dataloader_transformers",),
    "neon.models": ("neon_torch.models",),
    "neon.models.model": ("neon_torch.models",),
    "neon.benchmark": ("neon_torch.benchmark",),
    "neon.benchmark.benchmark": ("neon_torch.benchmark",),
    "neon.util": (),
    "neon.util.argparser": ("neon_torch.util.argparser",),
    "neon.util.persist": ("neon_torch.util.persist",),
    "neon.util.beamsearch": ("neon_torch.util.beamsearch",),
    "neon.util.compat": ("neon_torch.compat._py_compat",),
}

_TENSOR_CLASS = "neon_torch.backends.tensor:Tensor"
_BACKEND_CLASS = "neon_torch.backends.backend:Backend"

#: Non-class names: neon module -> {name: "neon_torch.module:attribute"}.
EXTRA: dict[str, dict[str, str]] = {
    "neon": {
        "logger": "neon_torch.compat._logger:neon_logger",
        "__version__": "neon_torch._version:NEON_VERSION",
        "NervanaObject": "neon_torch.backends.backend:NervanaObject",
        "DISPLAY_LEVEL_NUM": "neon_torch.compat._logger:DISPLAY",
    },
    "neon.backends.nervanacpu": {"CPUTensor": _TENSOR_CLASS, "NervanaCPU": _BACKEND_CLASS},
    "neon.backends.nervanagpu": {"GPUTensor": _TENSOR_CLASS, "NervanaGPU": _BACKEND_CLASS},
    "neon.backends.nervanamkl": {"MKLTensor": _TENSOR_CLASS, "NervanaMKL": _BACKEND_CLASS},
    "neon.backends": {
        "cleanup_backend": "neon_torch.backends.backend:cleanup_backend",
        "NervanaObject": "neon_torch.backends.backend:NervanaObject",
    },
}

_VIS = "a visualisation helper of neon's; use neon-torch plot or torch tooling"
_DET = "object detection (Faster-RCNN) support is not provided"
_SEQ = (
    "this part of neon's sequence-to-sequence family is not provided yet (Seq2Seq with GRU or LSTM "
    "decoders and beam search are)"
)
_AEON = (
    "aeon's manifest tools (old comma-separated manifests, indexing) are not provided; write "
    "manifests in aeon's tab-separated format"
)
_NOT_DATA = "this dataset loader is not provided; load the data yourself into an ArrayIterator"
_OPTREE = "op-trees are evaluated eagerly here: every backend operation returns a Tensor"
_HELPER = "an internal helper of neon's, not provided"
_INTERNAL = "a backend internal of neon's (kernels, code generation); PyTorch's kernels do this job"

#: Public neon 2.6 names that neon_torch does not provide: qualified name -> why.
UNSUPPORTED: dict[str, str] = {
    "neon.backends.Autodiff": "neon's op-tree autodiff; PyTorch's autograd does this job",
    "neon.backends.autodiff": "neon's op-tree autodiff; PyTorch's autograd does this job",
    "neon.layers.BatchNormAutodiff": "a demonstration layer; use BatchNorm",
    "neon.layers.RoiPooling": _DET,
    "neon.transforms.PixelwiseSoftmax": "not provided yet; use Softmax on (N, C) outputs",
    "neon.transforms.ObjectDetection": _DET,
    "neon.transforms.MultiMetric": "not provided yet",
    "neon.callbacks.MultiLabelStatsCallback": "not provided yet",
    "neon.callbacks.HistCallback": _VIS,
    "neon.callbacks.DeconvCallback": _VIS,
    "neon.data.DUMMY": _NOT_DATA,
    "neon.data.convert_manifest": _AEON,
    "neon.data.indexer": _AEON,
    "neon.backends.OpTreeNode": _OPTREE,
    "neon.backends.OpCollection": _OPTREE,
    "neon.backends.Block": _OPTREE,
    "neon.backends.CustomNumpy": _INTERNAL,
    "neon.backends.memoize_stacks": _INTERNAL,
    "neon.backends.get_device_count": "use torch.cuda.device_count()",
    "neon.backends.get_mkl_lib": "no MKL backend of neon_torch's own; torch brings its BLAS",
    "neon.display": "neon patches logging.Logger.display; use neon.logger.display",
    "neon.get_args": "an internal helper of neon's (it needs inspect.getargspec)",
    "neon.load_class": (
        "it imports a module path given as a string; neon_torch never does (use "
        "neon_torch.registry.lookup for neon type strings)"
    ),
    "neon.benchmark.benchmark.flatten_layers": _HELPER,
    "neon.callbacks.callbacks.get_progress_string": _HELPER,
    "neon.layers.container.Broadcast": _HELPER,
    "neon.layers.container.DeltasTree": _HELPER,
    "neon.layers.container.flatten": _HELPER,
    "neon.layers.container.pairwise": _HELPER,
    "neon.layers.interpret_in_shape": _HELPER,
    "neon.layers.recurrent.get_steps": _HELPER,
    "neon.util.persist.load_class": (
        "it imports a module path given as a string; neon_torch never does (use "
        "neon_torch.registry.lookup for neon type strings)"
    ),
    "neon.util.persist.serialize": "use model.serialize() / model.save_params(path)",
    "neon.util.modeldesc": "not provided; read descriptions with neon_torch.util.persist.load_obj",
    "neon.util.yaml_parse": "use `neon-torch run model.yaml`",
    "neon.visualizations": _VIS,
}


def unsupported_reason(qualified: str) -> str | None:
    """Why ``qualified`` (``neon.x.Name`` or a module path) is not provided, if it is listed.

    A name is also found under its package (``neon.layers.layer.RoiPooling`` ->
    ``neon.layers.RoiPooling``).
    """
    if qualified in UNSUPPORTED:
        return UNSUPPORTED[qualified]
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 1, -1):
        shorter = ".".join([*parts[: cut - 1], parts[-1]])
        if shorter in UNSUPPORTED:
            return UNSUPPORTED[shorter]
    return None


#: Real neon modules (and everything below them) that do not import under the shim.
INTERNAL_MODULES: dict[str, str] = {
    "neon.backends.abstract_backend": _INTERNAL,
    "neon.backends.conv_kernel_test": _INTERNAL,
    "neon.backends.convolution": _INTERNAL,
    "neon.backends.cuda_batchnorm": _INTERNAL,
    "neon.backends.cuda_templates": _INTERNAL,
    "neon.backends.float_ew": _INTERNAL,
    "neon.backends.kernel_specs": _INTERNAL,
    "neon.backends.kernels": _INTERNAL,
    "neon.backends.layer_cpu": _INTERNAL,
    "neon.backends.layer_gpu": _INTERNAL,
    "neon.backends.layer_mkl": _INTERNAL,
    "neon.backends.math_cpu": _INTERNAL,
    "neon.backends.util": _INTERNAL,
    "neon.backends.winograd": _INTERNAL,
    "neon.backends.winograd4": _INTERNAL,
    "neon.backends.winograd5": _INTERNAL,
    "neon.backends.winograd_conv": _INTERNAL,
    "neon.benchmark.examples": "an example script of neon's, not a library module",
    "neon.util.update_dataset_cache": "a maintenance script of neon's, not a library module",
    "neon.util.shelver": "neon's shelve helper is not provided; use neon_torch .prm files",
    "neon.util.load_experiment": "use `neon-torch run model.yaml`",
    "neon.util.display_information": "neon's platform report is not provided",
}


def module_reason(module: str) -> str | None:
    """Why the real neon module ``module`` does not import under the shim, if it does not."""
    parts = module.split(".")
    for cut in range(len(parts), 1, -1):
        prefix = ".".join(parts[:cut])
        if prefix in INTERNAL_MODULES:
            return INTERNAL_MODULES[prefix]
        if prefix in UNSUPPORTED and prefix in NEON_API:
            return UNSUPPORTED[prefix]
    return None


def is_neon_module(module: str) -> bool:
    """True for a module path that exists in neon 2.6."""
    return module in NEON_API


def is_neon_name(module: str, name: str) -> bool:
    """True when ``module.name`` is a public name of neon 2.6's module ``module``."""
    return name in NEON_API.get(module, ())


#: What neon_torch does differently for names it provides (shown in docs/compat.md); the key
#: is the name under its package (``neon.layers.Linear`` also covers ``neon.layers.layer``).
NOTES: dict[str, str] = {
    "neon.NervanaObject": "`be` is the neon_torch backend",
    "neon.logger": (
        "differs: the `neon` logger with neon's DISPLAY level (41) and `display()`; "
        "neon_torch's own messages go to the `neon_torch` logger"
    ),
    "neon.backends.gen_backend": (
        "differs: `cpu`/`mkl` run on the CPU, `gpu` on CUDA; `stochastic_round`, "
        "`max_devices`, `deterministic*` accepted with a warning; float16/bfloat16 run as "
        "mixed precision"
    ),
    "neon.layers.Linear": (
        "weights are stored `(nout, nin)` inside (torch layout), neon's layout in `.prm` files"
    ),
    "neon.layers.Dropout": (
        "neon's non-inverted rule; on CUDA the masks come from a torch generator"
    ),
    "neon.layers.BranchNode": "a singleton per name, as in neon",
    "neon.layers.SkipThought": (
        "differs: descriptions store `rec_layer` as its type string (neon pickles the class; "
        "neon's files load); `to_torch()` raises: convert `layer_dict['lookupTable']` and "
        "`layer_dict['encoder']` instead"
    ),
    "neon.optimizers.Adam": "also `as_torch_optimizer`",
    "neon.callbacks.Callbacks": (
        "differs: `callback_data` is an in-memory dict with neon's HDF5 keys, written to "
        "`output_file` in neon's layout after every epoch; `log_token` ignored; "
        "`add_deconv_callback`, `add_hist_callback` and "
        "`load_callbacks` are not provided"
    ),
    "neon.callbacks.SerializeModelCallback": (
        "differs: writes neon_torch `.prm` files (safetensors), not pickles; history rule (up "
        "to history+1 files, symlink) as in neon"
    ),
    "neon.callbacks.TrainMulticostCallback": (
        "differs: `multicost/train` only (no `multicost/train_allbranches`)"
    ),
    "neon.callbacks.ProgressBarCallback": (
        "differs: drawn with tqdm; on CUDA the cost shown lags by up to one redraw (copied "
        "asynchronously, no synchronisation)"
    ),
    "neon.callbacks.SaveBestStateCallback": "differs: writes a neon_torch `.prm` file",
    "neon.data.ArrayIterator": (
        "`Xdev`/`ydev` are torch tensors in neon's `(ndata, F)` layout; minibatches are batch-first"
    ),
    "neon.data.HDF5Iterator": (
        "differs: the file is read into memory at construction (neon read slices lazily)"
    ),
    "neon.data.HDF5IteratorOneHot": "differs: as HDF5Iterator",
    "neon.data.aeon_shim.AeonDataLoader": (
        "differs: aeon reimplemented on torch DataLoader workers (image, label, audio, video, "
        "pixelmask, char_map etl; localization not yet); augmentation draws differ, see "
        "docs/porting.md"
    ),
    "neon.data.dataloaderadapter.DataLoaderAdapter": (
        "differs: batch-first tensors (N, *shape) on the device, not neon's (features, N)"
    ),
    "neon.data.dataloader_transformers.OneHot": "differs: (N, nclasses), not (nclasses, N)",
    "neon.data.dataloader_transformers.PixelWiseOneHot": (
        "differs: (N, nclasses, H, W), not (nclasses * H * W, N)"
    ),
    "neon.data.dataloader_transformers.BGRMeanSubtract": "differs: needs a float input (TypeCast)",
    "neon.data.dataloader_transformers.ValueNormalize": "differs: needs a float input (TypeCast)",
    "neon.data.HDF5IteratorAutoencoder": "differs: as HDF5Iterator",
    "neon.data.Dataset": "set `NEON_TORCH_OFFLINE=1` to never download",
    "neon.data.MNIST": "reads `mnist.pkl.gz` (restricted unpickler); `subset_pct` ignored",
    "neon.data.BABI": (
        "reads the task files from `tasks_1-20_v1-2.tar.gz` without extracting it (or from the "
        "extracted folder); `subset` is only displayed (neon reads `en/` for every subset)"
    ),
    "neon.data.QA": (
        "differs: batch-first minibatches `((N, story_len), (N, query_len)), (N, vocab_size)`"
    ),
    "neon.data.CIFAR10": (
        "reads `cifar-10-batches-py/` (extracted from the tar.gz); the ZCA cache is neon's "
        "`.pkl` when present (restricted unpickler), else a `.npz`; `subset_pct` ignored"
    ),
    "neon.data.text_preprocessing.pad_data": "seeds numpy's global RNG, as neon",
    "neon.models.Model": (
        "`model.module` is the `torch.nn.Module`; batch-first tensors inside; `fprop` takes and "
        "returns batch-first tensors; `save_params`/`serialize` write a neon_torch `.prm` "
        "(safetensors + JSON), never a pickle; `load_params` also reads neon's pickles "
        "(restricted unpickler); `eval_loss(dataset)` (the LossCallback's value) is a "
        "neon_torch addition"
    ),
    "neon.util.argparser.NeonArgparser": (
        "differs: argparse, not configargparse (config files: `key = value` lines, "
        "`[sections]` ignored); `-b` choices `cpu`, `mkl`, `gpu`; `--serialize` alone saves to "
        "`neon_model.prm`; `--profile*` accepted without effect"
    ),
    "neon.util.persist.save_obj": (
        "differs: writes a neon_torch `.prm` (safetensors), never a pickle; object arrays "
        "only as structured arrays of numbers and strings"
    ),
    "neon.util.persist.load_obj": (
        "differs: reads neon pickles through a restricted unpickler (arrays and plain "
        "containers only)"
    ),
    "neon.backends.backend.Tensor": (
        "one torch tensor underneath (`.torch`), neon's shape and layout on top; op-trees are "
        "evaluated eagerly"
    ),
    "neon.backends.nervanacpu.CPUTensor": "the same class as `neon.backends.backend.Tensor`",
    "neon.backends.nervanagpu.GPUTensor": "the same class as `neon.backends.backend.Tensor`",
    "neon.backends.nervanamkl.MKLTensor": "the same class as `neon.backends.backend.Tensor`",
    "neon.backends.nervanacpu.NervanaCPU": "the neon_torch `Backend` (what `gen_backend` makes)",
    "neon.backends.nervanagpu.NervanaGPU": "the neon_torch `Backend` (what `gen_backend` makes)",
    "neon.backends.nervanamkl.NervanaMKL": "the neon_torch `Backend` (what `gen_backend` makes)",
    "neon.layers.Layer": (
        "a user subclass's `fprop`/`bprop` on backend Tensors runs as one autograd node; built-in "
        "layers keep their input errors inside autograd (no `deltas`)"
    ),
    "neon.layers.ParameterLayer": (
        "each `W` of a user subclass's `get_params()` becomes an `nn.Parameter` sharing storage; "
        "`dW` is its gradient"
    ),
    "neon.benchmark.Benchmark": (
        "layers are timed with module and autograd hooks, synchronising the device at each mark"
    ),
}


def note(qualified: str) -> str | None:
    """The note of ``qualified`` or of the same name under a parent package."""
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        key = ".".join([*parts[:cut], parts[-1]])
        if key in NOTES:
            return NOTES[key]
    return None
