"""Format detection, silent wrong numbers, malformed fields, interrupted saves, the CLI."""

from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.cli import main
from neon_torch.errors import NeonTorchError, PrmFormatError
from neon_torch.models import Model
from neon_torch.serialization import read_file, read_raw, sniff, write_prm
from neon_torch.util.persist import load_obj

from . import payloads


def _header_length(path: Path) -> int:
    return struct.unpack("<Q", path.read_bytes()[:8])[0]


@pytest.mark.parametrize("length", [640, 896, 1152, 1408, 640 + 65536])
def test_own_files_whose_length_prefix_looks_like_a_pickle(tmp_path: Path, length: int) -> None:
    """A header of 640 bytes starts the file with ``80 02``, the bytes of a pickle."""
    path = tmp_path / "t.prm"
    tree = {"w": np.arange(3, dtype=np.float32), "pad": ""}
    write_prm(path, tree)
    size = max(0, length - _header_length(path) - 8)
    while _header_length(path) < length:
        tree["pad"] = "x" * size
        write_prm(path, tree)
        size += 1
    assert _header_length(path) == length
    head = path.read_bytes()[:2]
    assert head[0] == 0x80 and 2 <= head[1] <= 5  # what a pickle of protocol 2 to 5 starts with
    assert sniff(path) == "neon_torch"
    np.testing.assert_array_equal(read_raw(path)[1]["w"], np.arange(3))


def test_save_params_output_always_reads_back(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model(str(payloads.MLP))
    for i in range(40):  # header lengths vary with the name; every one must read back
        model.layers.layers[0].name = "L" * i
        model.save_params(tmp_path / "m.prm")
        assert sniff(tmp_path / "m.prm") == "neon_torch"


def _mlp_tree() -> dict:
    return load_obj(payloads.MLP)


def test_a_layer_without_its_weights_is_an_error(tmp_path: Path) -> None:
    tree = _mlp_tree()
    del tree["model"]["config"]["layers"][0]["params"]["W"]
    path = tmp_path / "nw.prm"
    path.write_bytes(pickle.dumps(tree, 2))
    gen_backend("cpu", rng_seed=0, batch_size=4)
    with pytest.raises(NeonTorchError, match=r"nw\.prm: .*Linear_0"):
        Model(str(path))  # the file holds fewer values than the layers declare
    model = Model(str(payloads.MLP))
    with pytest.raises(PrmFormatError, match=r"nw\.prm: .*Linear_0.*no array for parameter.*'W'"):
        model.load_params(path)


def test_integer_weights_are_an_error(tmp_path: Path) -> None:
    tree = _mlp_tree()
    w = tree["model"]["config"]["layers"][0]["params"]["W"]
    tree["model"]["config"]["layers"][0]["params"]["W"] = w.view(np.int32)
    path = tmp_path / "int.prm"
    write_prm(path, tree)
    gen_backend("cpu", rng_seed=0, batch_size=4)
    with pytest.raises(PrmFormatError, match=r"params\.W is dtype int32"):
        Model(str(path))


def test_checksum_catches_a_changed_byte_and_can_be_skipped(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    Model(str(payloads.MLP)).save_params(tmp_path / "m.prm")
    data = bytearray((tmp_path / "m.prm").read_bytes())
    data[-5] ^= 0x01  # a bit of the last tensor
    (tmp_path / "bad.prm").write_bytes(bytes(data))
    with pytest.raises(PrmFormatError, match=r"bad\.prm: checksum mismatch"):
        read_file(tmp_path / "bad.prm")
    assert read_file(tmp_path / "bad.prm", verify=False).kind == "neon_torch"


def test_header_dtype_change_is_caught_with_and_without_the_checksum(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    Model(str(payloads.MLP)).save_params(tmp_path / "m.prm")
    data = (tmp_path / "m.prm").read_bytes()
    assert data.count(b'"dtype":"F32"') > 1
    (tmp_path / "i.prm").write_bytes(data.replace(b'"dtype":"F32"', b'"dtype":"I32"', 1))
    with pytest.raises(PrmFormatError, match="checksum mismatch"):
        Model(str(tmp_path / "i.prm"))
    from neon_torch.serialization import model_io

    loaded = read_file(tmp_path / "i.prm", verify=False)
    with pytest.raises(PrmFormatError, match="is dtype int32"):
        Model(loaded.tree)
    assert model_io  # the dict path shares the checks


def _own(tmp_path: Path, header: dict, data: bytes = b"") -> Path:
    text = json.dumps(header).encode()
    path = tmp_path / "h.prm"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def _meta(description: str) -> dict:
    return {"format": "neon_torch.prm", "format_version": "1", "description": description}


@pytest.mark.parametrize(
    ("header", "data", "words"),
    [
        ({"__metadata__": _meta("[" * 60_000 + "]" * 60_000)}, b"", "nested too deeply"),
        ({"__metadata__": _meta("[" * 500 + "]" * 500)}, b"", "nested deeper than"),
        ({"__metadata__": _meta("[" + "[]," * 300_000 + "[]]")}, b"", "lists and objects"),
        ({"__metadata__": _meta('{"a":{"__float__":"x"}}')}, b"", "__float__"),
        ({"__metadata__": _meta('{"a":{"__dict__":[[[[1]],2]]}}')}, b"", "dict key"),
        ({"__metadata__": _meta('{"a":{"__tensor__":5}}')}, b"", "refers to tensor 5"),
        (
            {
                "__metadata__": _meta('{"a":{"__tensor__":"t"}}'),
                "t": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4]},
            },
            b"\0" * 4,
            "needs 4000000000000 bytes",
        ),
        (
            {
                "__metadata__": _meta('{"a":{"__tensor__":"t"}}'),
                "t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "u": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            },
            b"\0" * 4,
            "overlap",
        ),
        ({"__metadata__": {**_meta("{}"), "format_version": "1e9"}}, b"", "not an integer"),
        ({"__metadata__": {**_meta("{}"), "format_version": "2"}}, b"", "requires a checksum"),
        ({"__metadata__": {**_meta("{}"), "format": 5}}, b"", "not a neon_torch .prm"),
    ],
)
def test_malformed_own_format_headers(
    tmp_path: Path, header: dict, data: bytes, words: str
) -> None:
    path = _own(tmp_path, header, data)
    with pytest.raises(PrmFormatError, match=r"h\.prm") as info:
        read_raw(path)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epoch_index", "three"),
        ("epoch_index", float("inf")),
        ("train_input_shape", [-1]),
        ("train_input_shape", "x"),
        ("backend", {"compat_mode": 5}),
        ("backend", {"compat_mode": "neon", "rng_state": ("MT19937", np.zeros(3), 0, 0, 0.0)}),
        ("backend", [1, 2]),
    ],
)
def test_malformed_fields_are_typed_and_change_nothing(
    tmp_path: Path, field: str, value: object
) -> None:
    tree = payloads.model_tree(payloads.linear())
    tree[field] = value
    path = tmp_path / "f.prm"
    write_prm(path, tree)
    be = gen_backend("cpu", rng_seed=0, batch_size=4)
    before = be.rng_get_state()[1].copy()
    with pytest.raises(PrmFormatError, match=r"f\.prm: .*(" + field.split("_")[0] + ")"):
        Model(str(path))
    np.testing.assert_array_equal(be.rng_get_state()[1], before)
    assert be.compat_mode is None


def test_load_params_with_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model(str(payloads.MLP))
    before = [p.detach().clone() for p in model.layers.parameters()]
    tree = _mlp_tree()
    last = [e for e in tree["model"]["config"]["layers"] if "params" in e][-1]
    del last["params"]["W"]  # earlier layers would be loaded before this one fails
    (tmp_path / "bad.prm").write_bytes(pickle.dumps(tree, 2))
    with pytest.raises(NeonTorchError):
        model.load_params(tmp_path / "bad.prm")
    assert all((a == b).all() for a, b in zip(before, model.layers.parameters(), strict=True))


_SLOW_SAVE = """
import sys, time
from neon_torch.serialization import _atomic
with _atomic.atomic_write(sys.argv[1]) as f:
    f.write(b"partial")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_killed_save_leaves_one_temporary_file_which_the_next_save_removes(
    tmp_path: Path,
) -> None:
    target = tmp_path / "m.prm"
    write_prm(target, {"a": 1})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SLOW_SAVE, str(target)], stdout=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the second save removed the first one's file on starting
    assert read_raw(target)[1] == {"a": 1}  # the old file is intact
    write_prm(target, {"a": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.prm"]
    assert read_raw(target)[1] == {"a": 2}


def test_cli_refuses_fifos_devices_and_directories_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.prm"
    os.mkfifo(fifo)
    start = time.perf_counter()
    for target in (fifo, Path("/dev/zero"), tmp_path):
        assert main(["inspect", str(target)]) == 1
        assert main(["convert", str(target), str(tmp_path / "o.pt"), "--quiet"]) == 1
    assert time.perf_counter() - start < 10  # nothing blocked on the FIFO
    err = capsys.readouterr().err
    assert "Traceback" not in err and "a FIFO, not a regular file" in err
    assert "a device or socket" in err and "a directory" in err


@pytest.mark.parametrize("value", ["-1", "0", "x", "99999999999"])
def test_cli_batch_size_is_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["convert", str(payloads.MLP), str(tmp_path / "m.pt2"), "--batch-size", value])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "--batch-size" in err and "Traceback" not in err


def test_caffe_mode_applies_before_building_and_is_put_back_on_failure(tmp_path: Path) -> None:
    dropout = {"type": "neon.layers.layer.Dropout", "config": {"name": "d", "keep": 0.5}}
    good = payloads.model_tree(payloads.linear(), dropout)
    good["backend"] = {"compat_mode": "caffe"}
    write_prm(tmp_path / "good.prm", good)
    be = gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model(str(tmp_path / "good.prm"))
    assert be.compat_mode == "caffe" and model.layers.layers[1].caffe_mode
    be.compat_mode = None
    bad = payloads.model_tree(payloads.linear(), dropout)
    bad["backend"] = {"compat_mode": "caffe"}
    del bad["model"]["config"]["layers"][0]["params"]["W"]
    write_prm(tmp_path / "bad.prm", bad)
    with pytest.raises(NeonTorchError, match=r"bad\.prm"):
        Model(str(tmp_path / "bad.prm"))
    assert be.compat_mode is None


@pytest.mark.parametrize("state", [{"t": "many"}, ["t"], {"t": float("inf")}])
def test_a_bad_optimizer_state_is_typed_at_fit(tmp_path: Path, state: object) -> None:
    from neon_torch.optimizers import Adam
    from neon_torch.serialization import model_io

    gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model(str(payloads.MLP))
    model.run_state.pending_optimizer = ("neon.optimizers.optimizer.Adam", state)
    with pytest.raises(PrmFormatError, match="optimizer_state"):
        model_io.restore_optimizer_state(model, Adam())
