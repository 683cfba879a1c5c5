"""The neon_torch .prm file itself: safetensors validity, metadata, codec, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from neon_torch.errors import PrmFormatError
from neon_torch.serialization import FORMAT, FORMAT_VERSION, _atomic, read_prm, write_prm


def _tree() -> dict:
    return {
        "model": {
            "type": "neon.layers.layer.Linear",
            "config": {"fshape": (3, 3), "nout": 2},
            "params": {"W": np.arange(6, dtype=np.float32).reshape(2, 3)},
        },
        "backend": {"rng_state": ("MT19937", np.arange(624, dtype=np.uint32), 3, 0, 0.0)},
        "odd": {"__tuple__": 1},
        "inf": float("-inf"),
        "f64": np.float64(0.1),
        "ints": {1: "a"},
    }


def test_file_is_plain_safetensors_with_metadata(tmp_path: Path) -> None:
    write_prm(tmp_path / "t.prm", _tree())
    tensors = load_file(tmp_path / "t.prm")
    assert sorted(tensors) == ["backend.rng_state.1", "model.params.W"]
    assert tensors["backend.rng_state.1"].dtype == torch.uint32
    with safe_open(tmp_path / "t.prm", "pt") as f:
        meta = f.metadata()
    assert meta["format"] == FORMAT and int(meta["format_version"]) == FORMAT_VERSION
    desc = json.loads(meta["description"])
    assert desc["model"]["params"]["W"] == {"__tensor__": "model.params.W"}
    assert desc["model"]["config"]["fshape"] == {"__tuple__": [3, 3]}


def test_codec_round_trip_keeps_types(tmp_path: Path) -> None:
    write_prm(tmp_path / "t.prm", _tree())
    back = read_prm(tmp_path / "t.prm")
    assert back["model"]["config"]["fshape"] == (3, 3)
    assert back["odd"] == {"__tuple__": 1} and back["inf"] == float("-inf")
    assert back["f64"] == 0.1 and back["ints"] == {1: "a"}
    assert isinstance(back["backend"]["rng_state"], tuple)
    np.testing.assert_array_equal(back["backend"]["rng_state"][1], np.arange(624))


def test_same_tree_same_bytes(tmp_path: Path) -> None:
    write_prm(tmp_path / "a.prm", _tree())
    tree = _tree()
    tree = dict(reversed(list(tree.items())))
    write_prm(tmp_path / "b.prm", tree)
    assert (tmp_path / "a.prm").read_bytes() == (tmp_path / "b.prm").read_bytes()


def test_unstorable_values_are_refused_before_writing(tmp_path: Path) -> None:
    write_prm(tmp_path / "t.prm", _tree())
    before = (tmp_path / "t.prm").read_bytes()
    with pytest.raises(PrmFormatError, match="object"):
        write_prm(tmp_path / "t.prm", {"x": object()})
    assert (tmp_path / "t.prm").read_bytes() == before


def test_crash_mid_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "t.prm"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), _atomic.atomic_write(target) as f:
        f.write(b"partial")
        raise RuntimeError("power cut")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.prm"]
