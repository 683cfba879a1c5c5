"""neon-written pickles: restricted unpickling, normalisation, hostile and broken files."""

from __future__ import annotations

import gzip
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.errors import NeonTorchError, PrmFormatError, UnsafePickleError
from neon_torch.models import Model
from neon_torch.serialization import FORMAT_VERSION, read_file, sniff, write_prm
from neon_torch.util.persist import load_obj, save_obj

from ..conftest import NEON_REF

MLP = NEON_REF / "mlp" / "mlp_bias_softmax.prm"


class _Evil:
    """Pickles to a call of ``target(*args)``."""

    def __init__(self, target: Any, *args: Any) -> None:
        self.target, self.args = target, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.target, self.args)


def _sentinel_payloads(sentinel: Path) -> list[bytes]:
    import builtins
    import subprocess

    cmd = f"touch {sentinel}"
    code = f"open({str(sentinel)!r}, 'w').close()"
    return [
        pickle.dumps({"model": _Evil(os.system, cmd)}, 2),
        pickle.dumps(_Evil(builtins.eval, code), 2),
        pickle.dumps(_Evil(builtins.exec, code), 2),
        pickle.dumps(_Evil(subprocess.call, ["touch", str(sentinel)]), 2),
        pickle.dumps(_Evil(builtins.__import__, "os"), 2),
        pickle.dumps({"a": np.float32(1), "b": _Evil(os.system, cmd)}, 2),
        pickle.dumps(_Evil(os.system, cmd), 0),  # protocol 0 starts with 'c', not 0x80
    ]


@pytest.mark.parametrize("index", range(7))
def test_hostile_pickles_run_nothing(tmp_path: Path, index: int) -> None:
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.prm"
    path.write_bytes(_sentinel_payloads(sentinel)[index])
    gen_backend("cpu", rng_seed=0, batch_size=4)
    with pytest.raises(PrmFormatError, match=r"evil\.prm"):
        Model(str(path))
    with pytest.raises(PrmFormatError):
        load_obj(path)
    assert not sentinel.exists()


def test_unsafe_global_is_named(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil(os.system, "true"), 2))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl.*(posix|os)\.system.*not allowed"):
        read_file(path)


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.prm"
    path.write_bytes(pickle.dumps({"model": np.array([1, "x"], dtype=object)}, 2))
    with pytest.raises(UnsafePickleError, match="object"):
        read_file(path)


def test_gzipped_and_python3_pickles_load_with_any_extension(tmp_path: Path) -> None:
    raw = MLP.read_bytes()
    gz = tmp_path / "weights.bin"
    gz.write_bytes(gzip.compress(raw))
    assert sniff(gz) == "pickle+gzip"
    a, b = read_file(MLP), read_file(gz)
    np.testing.assert_array_equal(
        a.tree["model"]["config"]["layers"][0]["params"]["W"],
        b.tree["model"]["config"]["layers"][0]["params"]["W"],
    )
    with gz.open("rb") as f:
        assert load_obj(f)["epoch_index"] == 3


def test_python2_style_string_payloads_load(tmp_path: Path) -> None:
    """Python 2 writes array bytes as a ``str``; latin-1 decoding must give the same array."""
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    text = w.tobytes().decode("latin1")
    state = (1, (2, 3), np.dtype("float32"), False, text)
    blob = pickle.dumps({"W": _Array(state)}, 2)
    path = tmp_path / "py2.prm"
    path.write_bytes(blob)
    np.testing.assert_array_equal(load_obj(path)["W"], w)


class _Array:
    """Pickles like a numpy array whose data is a (latin-1) ``str``, as Python 2 wrote them."""

    def __init__(self, state: tuple[Any, ...]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        from numpy._core.multiarray import _reconstruct

        return (_reconstruct, (np.ndarray, (0,), b"b"), self.state)


def test_unfused_conv_bias_and_list_params_are_normalised(tmp_path: Path) -> None:
    conv = {
        "type": "neon.layers.layer.Convolution",
        "config": {"name": "c", "fshape": (3, 3, 4)},
        "params": np.ones((27, 4), np.float32),
        "states": [np.zeros((27, 4), np.float32)],
    }
    bias = {
        "type": "neon.layers.layer.Bias",
        "config": {"name": "c_bias", "init": {"type": "x"}},
        "params": {"W": np.ones((4, 1), np.float32)},
        "states": [],
    }
    bn = {
        "type": "neon.layers.layer.BatchNorm",
        "config": {"name": "bn"},
        "params": [np.zeros((4, 1), np.float32)] * 4,
    }
    tail = {
        "type": "neon.layers.layer.Convolution",
        "config": {"name": "last"},
        "params": {"W": np.ones((36, 4), np.float32)},
    }
    tree = {
        "model": {
            "type": "neon.layers.container.Sequential",
            "config": {"layers": [conv, bias, bn, tail]},
        },
        "backend": {},
    }
    path = tmp_path / "mkl.prm"
    path.write_bytes(pickle.dumps(tree, 2))
    layers = read_file(path).tree["model"]["config"]["layers"]
    assert [entry["type"].rsplit(".", 1)[1] for entry in layers] == [
        "Convolution_bias",
        "BatchNorm",
        "Convolution",
    ]
    assert set(layers[0]["params"]) == {"W", "weight_bias"}
    assert layers[0]["config"]["bias"] == {"type": "x"}
    assert [len(s) for s in layers[0]["states"]] == [1, 0]
    assert set(layers[1]["params"]) == {"beta", "gamma", "gmean", "gvar"}


def test_residual_prm_which_neon_cannot_load_parses() -> None:
    loaded = read_file(NEON_REF / "containers" / "residual.prm")
    merge = loaded.tree["model"]["config"]["layers"][2]
    branch = merge["config"]["layers"][0]["config"]["layers"]
    assert branch[-1]["type"] == "neon.layers.layer.Convolution"  # bias-less, stays as it is


def test_pre_1_2_files_load_into_a_model_built_in_code(tmp_path: Path) -> None:
    from neon_torch.initializers import Gaussian
    from neon_torch.layers import Affine
    from neon_torch.transforms import Softmax

    gen_backend("cpu", rng_seed=0, batch_size=4)
    w = np.random.RandomState(0).rand(3, 5).astype(np.float32)
    b = np.ones((3, 1), np.float32)
    old = {
        "epoch_index": 7,
        "layer_params_states": [{"params": w, "states": []}, {"params": {"W": b, "name": "bias"}}],
    }
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(old, 2))
    model = Model([Affine(3, init=Gaussian(), bias=Gaussian(), activation=Softmax())])
    model.initialize(5)
    model.load_params(path)
    np.testing.assert_array_equal(model.layers_to_optimize[0].neon_params()["W"], w)
    np.testing.assert_array_equal(model.layers_to_optimize[1].neon_params()["W"], b)
    assert model.epoch_index == 7
    with pytest.raises(PrmFormatError, match="load_params"):
        Model(str(path))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x80",
        b"\x80\x02}q\x00(X",
        b"hello world",
        b"\x1f\x8bjunk",
        b"\x08\x00\x00\x00\x00\x00\x00\x00{}",
    ],
)
def test_broken_files_raise_clear_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.prm"
    path.write_bytes(content)
    with pytest.raises(PrmFormatError, match=r"broken\.prm"):
        read_file(path)


def test_truncated_neon_torch_file_and_newer_version(tmp_path: Path) -> None:
    save_obj(
        {"model": {"type": "t", "config": {}}, "w": np.ones(100, np.float32)}, tmp_path / "a.prm"
    )
    data = (tmp_path / "a.prm").read_bytes()
    (tmp_path / "cut.prm").write_bytes(data[:-10])
    with pytest.raises(PrmFormatError, match=r"cut\.prm"):
        read_file(tmp_path / "cut.prm")
    current = f'"format_version":"{FORMAT_VERSION}"'.encode()
    assert current in data
    newer = data.replace(current, b'"format_version":"9"')
    (tmp_path / "new.prm").write_bytes(newer)
    with pytest.raises(PrmFormatError, match=rf"format_version 9.*up to {FORMAT_VERSION}"):
        read_file(tmp_path / "new.prm")


def test_unknown_layer_type_is_named(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    tree = {
        "model": {
            "type": "neon.layers.container.Sequential",
            "config": {"layers": [{"type": "neon.layers.layer.Teleport", "config": {}}]},
        }
    }
    write_prm(tmp_path / "u.prm", tree)
    with pytest.raises(NeonTorchError, match=r"u\.prm.*Teleport"):
        Model(str(tmp_path / "u.prm"))


def test_fuzzed_files_raise_only_neon_torch_errors(tmp_path: Path) -> None:
    rnd = random.Random(1234)
    sources = [MLP.read_bytes()]
    gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model(str(MLP))
    model.save_params(tmp_path / "ours.prm")
    sources.append((tmp_path / "ours.prm").read_bytes())
    path = tmp_path / "fuzz.prm"
    for i in range(120):
        data = bytearray(sources[i % 2])
        if rnd.random() < 0.3:
            data = data[: rnd.randrange(len(data))]
        for _ in range(rnd.randint(1, 8)):
            if data:
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        path.write_bytes(bytes(data))
        try:
            Model(str(path))
        except NeonTorchError:
            pass


def test_load_obj_save_obj_round_trip(tmp_path: Path) -> None:
    tree = {"a": (1, 2.5, float("nan")), "b": [np.arange(3, dtype=np.int64)], 3: None}
    save_obj(tree, tmp_path / "sub" / "t.prm")
    back = load_obj(str(tmp_path / "sub" / "t.prm"))
    assert back["a"][:2] == (1, 2.5) and np.isnan(back["a"][2]) and back[3] is None
    np.testing.assert_array_equal(back["b"][0], np.arange(3))
    save_obj(tree, "")  # neon: an empty path does nothing
