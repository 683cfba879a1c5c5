"""neon's YAML experiment files (what ``neon model.yaml`` ran), for ``neon-torch run``.

A file holds ``backend``, ``epochs``, ``batchsize`` (defaults below the command line),
``layers`` (a list of ``{type, config}``; short class names such as ``Linear`` or full neon
paths), ``cost`` (a cost function name, wrapped in ``GeneralizedCost``), ``optimizer``
(``{type, config}``) and ``dataset: {name: mnist | cifar10 | demo}`` (``demo``: the bundled
synthetic digits, no files needed). Nested ``{type, config}`` values (initializers,
transforms) become objects. The model is trained with ``Callbacks(model, eval_set=valid,
**args.callback_args)``, so ``-o``, ``-s``, ``--serialize``, ``-eval`` work as for scripts.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import LayerConfigError, NeonTorchError
from ..registry import lookup_short

__all__ = ["YamlExperimentError", "build", "run_yaml"]

# where neon's YAML files find the classes they name by their short names
_PACKAGES = ("neon.layers", "neon.initializers", "neon.transforms", "neon.optimizers")
_KEYS = ("backend", "epochs", "batchsize", "cost", "optimizer", "dataset")


class YamlExperimentError(NeonTorchError, ValueError):
    """A YAML experiment file neon_torch cannot run (unknown key, type or dataset)."""


def build(value: Any, source: str) -> Any:
    """Turn ``{type, config}`` dicts (recursively) into objects."""
    if isinstance(value, list):
        return [build(v, source) for v in value]
    if not isinstance(value, dict):
        return value
    if not isinstance(value.get("type"), str):
        return {k: build(v, source) for k, v in value.items()}
    cls = lookup_short(value["type"], _PACKAGES, source)
    config = {k: build(v, source) for k, v in (value.get("config") or {}).items()}
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise LayerConfigError(
            f"{source}: {value['type']} has no argument(s) {unknown}; it accepts "
            f"{sorted(k for k in accepted if k not in ('self', 'args', 'kwargs'))}."
        )
    return cls(**config)


def _read(path: str) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        try:
            root = yaml.safe_load(f)
        except yaml.YAMLError as err:
            raise YamlExperimentError(f"{path}: not valid YAML ({err}).") from None
    if not isinstance(root, dict) or not isinstance(root.get("layers"), list):
        raise YamlExperimentError(
            f"{path}: expected a mapping with a 'layers' list (and {', '.join(_KEYS)}); other "
            "top-level keys (such as anchors for shared values) are ignored, as in neon."
        )
    return root


def _datasets(name: str, args: Any, path: str) -> tuple[Any, Any]:
    if name == "demo":
        from ..data import ArrayIterator
        from ..demo import synthetic_digits

        x_train, y_train = synthetic_digits(1024, seed=1)
        x_test, y_test = synthetic_digits(256, seed=2)
        train = ArrayIterator(x_train, y_train, nclass=10, lshape=(1, 28, 28))
        return train, ArrayIterator(x_test, y_test, nclass=10, lshape=(1, 28, 28))
    if name in ("mnist", "cifar10"):
        from ..data import CIFAR10, MNIST

        dataset = (MNIST if name == "mnist" else CIFAR10)(path=args.data_dir)
        return dataset.train_iter, dataset.valid_iter
    raise YamlExperimentError(
        f"{path}: unknown dataset name {name!r}; neon_torch runs 'mnist', 'cifar10' or 'demo'."
    )


def run_yaml(path: str, argv: list[str]) -> int:
    """Run the experiment in ``path`` with neon's command line ``argv``; returns 0."""
    from ..callbacks import Callbacks
    from ..layers import GeneralizedCost
    from ..models import Model
    from ..optimizers import GradientDescentMomentum
    from ..util.argparser import NeonArgparser

    root = _read(path)
    overrides = {"epochs": root.get("epochs"), "batch_size": root.get("batchsize")}
    parser = NeonArgparser(
        f"neon-torch run {path}", default_overrides={k: v for k, v in overrides.items() if v}
    )
    if root.get("backend") in ("cpu", "mkl", "gpu"):
        parser.set_defaults(backend=root["backend"])
    args = parser.parse_args(args=argv)
    layers = build(root["layers"], path)
    cost = GeneralizedCost(costfunc=build({"type": str(root.get("cost"))}, path))
    optimizer = build(root["optimizer"], path) if "optimizer" in root else None
    if optimizer is None:
        optimizer = GradientDescentMomentum(0.1, momentum_coef=0.9)
    dataset = root.get("dataset") or {}
    train, valid = _datasets(str(dataset.get("name", "")), args, path)
    model = Model(layers=layers)
    callbacks = Callbacks(model, eval_set=valid, **args.callback_args)
    model.fit(train, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
    return 0
