"""Type strings older neon versions wrote: every spelling neon 2.6's loader resolves (bare class
names, package re-exports, names imported into other modules) loads; the types neon 2.6 no
longer has are refused by name."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.convert import to_torch_module
from neon_torch.errors import UnknownNeonTypeError
from neon_torch.models import Model
from neon_torch.serialization import read_file
from neon_torch.serialization._neon_names import ALIASES
from neon_torch.serialization.build import resolve
from neon_torch.serialization.legacy import canonical_type

from ...conftest import NEON_REF

CONV = NEON_REF / "conv" / "conv.prm"

# own path -> the spelling written instead (one of each kind neon 2.6 resolves)
RESPELL = {
    "neon.layers.container.Sequential": "neon.models.model.Sequential",  # imported name
    "neon.layers.layer.Convolution": "Convolution",  # bare name
    "neon.layers.layer.Activation": "neon.layers.Activation",  # package re-export
    "neon.layers.layer.Pooling": "Pooling",
    "neon.layers.layer.BatchNorm": "neon.layers.BatchNorm",
    "neon.layers.layer.Linear": "Linear",
    "neon.initializers.initializer.Gaussian": "neon.initializers.Gaussian",
    "neon.transforms.activation.Rectlin": "neon.layers.layer.Rectlin",
    "neon.transforms.activation.Softmax": "neon.layers.container.Softmax",
}


def _respell(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _respell(v) for k, v in value.items()}
        if isinstance(out.get("type"), str):
            out["type"] = RESPELL.get(out["type"], out["type"])
        return out
    if isinstance(value, list):
        return [_respell(v) for v in value]
    return value


def _outputs(path: Path) -> np.ndarray:
    x = torch.from_numpy(np.random.RandomState(0).uniform(-1, 1, (3, 3, 8, 8)).astype("f4"))
    with torch.no_grad():
        return to_torch_module(str(path)).eval()(x).numpy()


def test_respelled_neon_file_loads_to_the_same_model(tmp_path: Path) -> None:
    tree = read_file(CONV).tree
    respelled = _respell(tree)
    written = {d["type"] for d in _descriptions(respelled)}
    assert written >= set(RESPELL.values())  # every respelling is in the file
    path = tmp_path / "old.prm"
    path.write_bytes(pickle.dumps(respelled, 2))
    assert {d["type"] for d in _descriptions(read_file(path).tree)} == {
        d["type"] for d in _descriptions(tree)
    }
    gen_backend("cpu", rng_seed=0, batch_size=3)
    assert str(Model(str(path))) == str(Model(str(CONV)))
    np.testing.assert_array_equal(_outputs(path), _outputs(CONV))


def _descriptions(value: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("type"), str):
            found.append(value)
        for key, item in value.items():
            if key != "params":
                found += _descriptions(item)
    elif isinstance(value, list):
        for item in value:
            found += _descriptions(item)
    return found


def test_unfused_conv_and_bias_under_bare_names_are_fused(tmp_path: Path) -> None:
    tree = {
        "model": {
            "type": "Sequential",
            "config": {
                "layers": [
                    {
                        "type": "Convolution",
                        "config": {"name": "c", "fshape": (3, 3, 4)},
                        "params": {"W": np.ones((27, 4), np.float32)},
                    },
                    {
                        "type": "neon.layers.Bias",
                        "config": {"name": "c_bias", "init": {"type": "Constant", "config": {}}},
                        "params": {"W": np.ones((4, 1), np.float32)},
                    },
                ]
            },
        }
    }
    path = tmp_path / "bare.prm"
    path.write_bytes(pickle.dumps(tree, 2))
    (conv,) = read_file(path).tree["model"]["config"]["layers"]
    assert conv["type"] == "neon.layers.layer.Convolution_bias"
    assert conv["config"]["bias"]["type"] == "neon.initializers.initializer.Constant"


def test_every_alias_resolves_to_its_target_class() -> None:
    checked = 0
    for alias, target in ALIASES.items():
        try:
            cls = resolve(target)
        except UnknownNeonTypeError:
            continue  # a neon class neon_torch does not provide: unknown under any name
        assert resolve(alias) is cls, alias
        checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("neon.layers.merge.MergeSum", "neon 1.0"),
        ("neon.layers.merge.MergeConcat", "neon 1.0"),
        ("neon.layers.layer.ColorNoise", "neon 1.3-1.4"),
        ("neon.layers.container.RoiPooling", "neon 1.4-1.6"),
    ],
)
def test_types_neon_2_6_no_longer_has_are_refused(tmp_path: Path, name: str, version: str) -> None:
    with pytest.raises(UnknownNeonTypeError, match=version):
        canonical_type(name)
    tree = {"model": {"type": "Sequential", "config": {"layers": [{"type": name, "config": {}}]}}}
    path = tmp_path / "gone.prm"
    path.write_bytes(pickle.dumps(tree, 2))
    gen_backend("cpu", rng_seed=0, batch_size=2)
    with pytest.raises(UnknownNeonTypeError, match=rf"gone\.prm.*{name}.*{version}"):
        Model(str(path))
