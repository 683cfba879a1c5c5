"""Which neon 2.6 module paths the shim provides, where their names come from, and the public
neon names neon_torch does not provide (with the reason shown in the error and docs/compat.md).

A neon module resolves a name, in order: the registry (``neon.<module>.<Name>`` type strings),
then the public names of the listed neon_torch modules, then ``EXTRA`` (non-class names).
"""

from __future__ import annotations

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
    "neon.data": _DATA,
    "neon.data.dataiterator": _DATA,
    "neon.data.datasets": _DATA,
    "neon.data.hdf5iterator": _DATA,
    "neon.data.image": _DATA,
    "neon.data.text": _DATA,
    "neon.data.text_preprocessing": ("neon_torch.data.text_preprocessing",),
    "neon.models": ("neon_torch.models",),
    "neon.models.model": ("neon_torch.models",),
    "neon.util": (),
    "neon.util.argparser": ("neon_torch.util.argparser",),
    "neon.util.persist": ("neon_torch.util.persist",),
    "neon.util.compat": ("neon_torch.compat._py_compat",),
}

#: Non-class names: neon module -> {name: "neon_torch.module:attribute"}.
EXTRA: dict[str, dict[str, str]] = {
    "neon": {
        "logger": "neon_torch.compat._logger:neon_logger",
        "__version__": "neon_torch._version:NEON_VERSION",
        "NervanaObject": "neon_torch._object:NervanaObject",
    },
    "neon.backends": {"cleanup_backend": "neon_torch.backends.backend:cleanup_backend"},
}

_GAN = "GAN training is not part of neon_torch; write it with plain PyTorch around Model.module"
_VIS = "a visualisation helper of neon's; use neon-torch plot or torch tooling"
_DET = "object detection (Faster-RCNN) support is not provided"
_SEQ = "sequence-to-sequence / skip-thought models are not provided yet"
_BIN = "binarized networks (neon's bit-shift arithmetic) are not provided"
_TICK = "neon's synthetic sequence tasks are not provided; build an ArrayIterator instead"
_AEON = "aeon-based loaders (DataLoader, manifests) are not provided; use a torch DataLoader"
_NOT_DATA = "this dataset loader is not provided; load the data yourself into an ArrayIterator"

#: Public neon 2.6 names that neon_torch does not provide: qualified name -> why.
UNSUPPORTED: dict[str, str] = {
    "neon.backends.Autodiff": "neon's op-tree autodiff; PyTorch's autograd does this job",
    "neon.backends.autodiff": "neon's op-tree autodiff; PyTorch's autograd does this job",
    "neon.layers.GeneralizedGANCost": _GAN,
    "neon.layers.BatchNormAutodiff": "a demonstration layer; use BatchNorm",
    "neon.layers.ShiftBatchNorm": _BIN,
    "neon.layers.BinaryLinear": _BIN,
    "neon.layers.BinaryAffine": _BIN,
    "neon.layers.RoiPooling": _DET,
    "neon.layers.Seq2Seq": _SEQ,
    "neon.layers.SkipThought": _SEQ,
    "neon.layers.Encoder": _SEQ,
    "neon.layers.Decoder": _SEQ,
    "neon.layers.GenerativeAdversarial": _GAN,
    "neon.transforms.PixelwiseSoftmax": "not provided yet; use Softmax on (N, C) outputs",
    "neon.transforms.Sign": _BIN,
    "neon.transforms.SquareHingeLoss": "not provided yet",
    "neon.transforms.GANCost": _GAN,
    "neon.transforms.ObjectDetection": _DET,
    "neon.transforms.BLEUScore": "not provided yet",
    "neon.transforms.MultiMetric": "not provided yet",
    "neon.callbacks.MultiLabelStatsCallback": "not provided yet",
    "neon.callbacks.HistCallback": _VIS,
    "neon.callbacks.DeconvCallback": _VIS,
    "neon.callbacks.WatchTickerCallback": _TICK,
    "neon.callbacks.GANCostCallback": _GAN,
    "neon.data.DUMMY": _NOT_DATA,
    "neon.data.HutterPrize": _NOT_DATA,
    "neon.data.SICK": _NOT_DATA,
    "neon.data.Ticker": _TICK,
    "neon.data.CopyTask": _TICK,
    "neon.data.RepeatCopyTask": _TICK,
    "neon.data.PrioritySortTask": _TICK,
    "neon.data.BABI": _NOT_DATA,
    "neon.data.QA": _NOT_DATA,
    "neon.data.ImageCaption": _NOT_DATA,
    "neon.data.ImageCaptionTest": _NOT_DATA,
    "neon.data.Flickr8k": _NOT_DATA,
    "neon.data.Flickr30k": _NOT_DATA,
    "neon.data.Coco": _NOT_DATA,
    "neon.data.DataLoader": _AEON,
    "neon.data.AeonDataLoader": _AEON,
    "neon.data.dataloader_transformers": _AEON,
    "neon.data.aeon_shim": _AEON,
    "neon.models.GAN": _GAN,
    "neon.util.persist.load_class": (
        "it imports a module path given as a string; neon_torch never does (use "
        "neon_torch.registry.lookup for neon type strings)"
    ),
    "neon.util.persist.serialize": "use model.serialize() / model.save_params(path)",
    "neon.util.persist.get_cache_dir": "neon's kernel cache directory has no use on PyTorch",
    "neon.util.persist.get_data_cache_dir": "pass the data directory (-w) to the dataset",
    "neon.util.persist.get_data_cache_or_nothing": "pass the data directory (-w) to the dataset",
    "neon.util.persist.ensure_dirs_exist": "use os.makedirs(path, exist_ok=True)",
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
