"""Hostile inputs for the loaders, written opcode by opcode (no object of ours is pickled).

Every builder returns the bytes of a file. The pickles are protocol 2, like neon's, and use
only opcodes from :mod:`pickletools`.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from neon_torch.serialization import write_prm

PROTO = b"\x80\x02"
STOP = b"."
MARK = b"("
NONE = b"N"
EMPTY_LIST, EMPTY_TUPLE, EMPTY_DICT = b"]", b")", b"}"
APPEND, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"a", b"t", b"\x85", b"\x86", b"\x87"
REDUCE, BUILD, SETITEM = b"R", b"b", b"s"
NEWFALSE = b"\x89"

MLP = Path(__file__).parents[1] / "data" / "neon_ref" / "mlp" / "mlp_bias_softmax.prm"
LINEAR = "neon.layers.layer.Linear"
SEQUENTIAL = "neon.layers.container.Sequential"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    data = value.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def int1(value: int) -> bytes:
    return b"K" + bytes([value])


def int4(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def put(index: int) -> bytes:
    return b"q" + bytes([index])


def get(index: int) -> bytes:
    return b"h" + bytes([index])


def latin1_bytes(data: bytes) -> bytes:
    """``_codecs.encode(str, 'latin1')``: how protocol 2 stores a bytes object."""
    return (
        glob("_codecs", "encode") + text(data.decode("latin1")) + text("latin1") + TUPLE2 + REDUCE
    )


def dtype(code: str, order: str = "<") -> bytes:
    """``numpy.dtype(code, False, True)`` with numpy's BUILD state."""
    state = (
        MARK + int1(3) + text(order) + NONE + NONE + NONE + int4(-1) + int4(-1) + int1(0) + TUPLE
    )
    return (
        glob("numpy", "dtype") + text(code) + NEWFALSE + b"\x88" + TUPLE3 + REDUCE + state + BUILD
    )


def reconstruct() -> bytes:
    """``_reconstruct(ndarray, (0,), b'b')``: an array announced, without data yet."""
    return (
        glob("numpy.core.multiarray", "_reconstruct")
        + glob("numpy", "ndarray")
        + int1(0)
        + TUPLE1
        + latin1_bytes(b"b")
        + TUPLE3
        + REDUCE
    )


def array(shape: tuple[int, ...], code: str, data: bytes) -> bytes:
    """A numpy array as numpy pickles it, with any ``shape``, ``code`` and ``data``."""
    dims = MARK + b"".join(int4(n) for n in shape) + TUPLE
    state = MARK + int1(1) + dims + dtype(code) + NEWFALSE + latin1_bytes(data) + TUPLE
    return reconstruct() + state + BUILD


def pickled(body: bytes) -> bytes:
    return PROTO + body + STOP


# -- unpickler gadgets ------------------------------------------------------------------------
def object_array_via_ndarray() -> bytes:
    """``ndarray((1,), 'O', <bytes holding a fake pointer>)`` handed to ``set``: the old
    unpickler allowed ``numpy.ndarray`` as a callable and crashed the process."""
    fake = struct.pack("<Q", 0x4141414141414141)
    call = (
        glob("numpy", "ndarray")
        + MARK
        + int1(1)
        + TUPLE1
        + text("O")
        + latin1_bytes(fake)
        + TUPLE
        + REDUCE
    )
    return pickled(glob("builtins", "set") + MARK + call + b"l" + TUPLE1 + REDUCE)


def object_dtype_array() -> bytes:
    return pickled(array((1,), "O", b"\x41" * 8))


def structured_dtype_build() -> bytes:
    """A dtype whose BUILD state carries fields (numpy's dtype.__setstate__ crashed on it)."""
    state = (
        MARK
        + int1(3)
        + text("|")
        + NONE
        + MARK
        + text("a")
        + TUPLE1
        + EMPTY_DICT
        + int4(8)
        + int4(1)
        + int1(16)
        + TUPLE
    )
    return pickled(glob("numpy", "dtype") + text("V8") + TUPLE1 + REDUCE + state + BUILD)


def build_on_ordered_dict() -> bytes:
    """BUILD on an OrderedDict, which let the old loader hide an object array in attributes."""
    return pickled(
        glob("collections", "OrderedDict")
        + EMPTY_TUPLE
        + REDUCE
        + EMPTY_DICT
        + text("x")
        + array((1,), "f4", b"\0" * 4)
        + SETITEM
        + BUILD
    )


def array_into_set() -> bytes:
    return pickled(
        glob("builtins", "frozenset") + MARK + array((1,), "f4", b"\0" * 4) + b"l" + TUPLE1 + REDUCE
    )


def unknown_codec() -> bytes:
    return pickled(glob("_codecs", "encode") + text("x") + text("no-such-codec") + TUPLE2 + REDUCE)


def other_codec() -> bytes:
    return pickled(glob("_codecs", "encode") + text("x") + text("rot13") + TUPLE2 + REDUCE)


def array_without_build() -> bytes:
    """``_reconstruct`` alone yields uninitialised memory in numpy; it must be refused."""
    return pickled(EMPTY_DICT + text("W") + reconstruct() + SETITEM)


def huge_shape(n: int = 900_000_000) -> bytes:
    """A 3.6 GB float32 shape with 4 bytes of data (the old loader allocated first)."""
    return pickled(array((n,), "f4", b"\0" * 4))


def long_string_length() -> bytes:
    return PROTO + b"X" + struct.pack("<I", 0xFFFFFFF0) + b"abc"


def huge_long() -> bytes:
    return pickled(b"\x8b" + struct.pack("<I", 100_000) + b"\x01" * 100_000)


def self_list() -> bytes:
    """18 bytes: a list that contains itself."""
    return pickled(EMPTY_LIST + put(0) + get(0) + APPEND)


def doubling_dag(levels: int = 60) -> bytes:
    """Each list holds the previous one twice: 2**levels paths through a few hundred bytes."""
    body = EMPTY_LIST + put(0) + b"0"
    for i in range(1, levels):
        body += EMPTY_LIST + get(i - 1) + APPEND + get(i - 1) + APPEND + put(i) + b"0"
    return pickled(body + get(levels - 1))


def deep_lists(depth: int = 50_000) -> bytes:
    return pickled(EMPTY_LIST * depth + APPEND * (depth - 1))


def many_lists(count: int = 500_000) -> bytes:
    """One million bytes of empty lists: 2 bytes of file, about 64 of memory, each."""
    return pickled(EMPTY_LIST + (EMPTY_LIST + APPEND) * count)


def many_marks(count: int = 200_000) -> bytes:
    return pickled(MARK * count)


def newobj() -> bytes:
    return pickled(glob("collections", "OrderedDict") + EMPTY_TUPLE + b"\x81")


def memo_get_unset() -> bytes:
    return pickled(get(7))


def unbalanced_stack() -> bytes:
    return pickled(NONE + NONE)


def scalar_wrong_length() -> bytes:
    return pickled(
        glob("numpy.core.multiarray", "scalar")
        + dtype("f8")
        + latin1_bytes(b"\0" * 3)
        + TUPLE2
        + REDUCE
    )


def gzip_bomb(expanded: int = 256 << 20) -> bytes:
    """A gzipped pickle announcing ``expanded`` bytes of zeros (about 1/1000 of it on disk)."""
    import zlib

    head = PROTO + b"\x8e" + struct.pack("<Q", expanded)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [squeeze.compress(head)]
    zeros = bytes(1 << 20)
    for _ in range(expanded >> 20):
        out.append(squeeze.compress(zeros))
    out.append(squeeze.flush())
    return b"".join(out)


UNPICKLER_GADGETS = {
    "object_array_via_ndarray": object_array_via_ndarray,
    "object_dtype_array": object_dtype_array,
    "structured_dtype_build": structured_dtype_build,
    "build_on_ordered_dict": build_on_ordered_dict,
    "array_into_set": array_into_set,
    "unknown_codec": unknown_codec,
    "other_codec": other_codec,
    "array_without_build": array_without_build,
    "huge_shape": huge_shape,
    "long_string_length": long_string_length,
    "huge_long": huge_long,
    "self_list": self_list,
    "doubling_dag": doubling_dag,
    "deep_lists": deep_lists,
    "many_lists": many_lists,
    "many_marks": many_marks,
    "newobj": newobj,
    "memo_get_unset": memo_get_unset,
    "unbalanced_stack": unbalanced_stack,
    "scalar_wrong_length": scalar_wrong_length,
}


# -- description gadgets ----------------------------------------------------------------------
def _desc(kind: str, **config: Any) -> dict[str, Any]:
    return {"type": kind, "config": config}


def linear(**overrides: Any) -> dict[str, Any]:
    config = {"name": "L", "nout": 2, "init": _desc("neon.initializers.Constant", val=0.5)}
    config.update(overrides)
    return {
        "type": LINEAR,
        "config": config,
        "params": {"W": np.full((2, 3), 0.25, np.float32)},
    }


def model_tree(*layers: dict[str, Any], input_shape: Any = 3) -> dict[str, Any]:
    return {
        "model": {"type": SEQUENTIAL, "config": {"name": "S", "layers": list(layers)}},
        "backend": {"compat_mode": "neon"},
        "epoch_index": 1,
        "train_input_shape": input_shape,
    }


def description_gadgets(victim: Path, self_path: Path) -> dict[str, dict[str, Any]]:
    """Descriptions that, built naively, delete, read or open ``victim`` or recurse."""
    callbacks = _desc("neon.callbacks.Callbacks", model=None, output_file=str(victim))
    return {
        "callbacks_as_init": model_tree(linear(init=callbacks)),
        "callbacks_in_parallelism": model_tree(linear(parallelism=callbacks)),
        "callbacks_nested_in_list": model_tree(linear(parallelism=[1, {"x": callbacks}])),
        "text_as_layer": model_tree(
            linear(), _desc("neon.data.Text", time_steps=2, path=str(victim))
        ),
        "hdf5_as_layer": model_tree(_desc("neon.data.HDF5Iterator", hdf_filename=str(victim))),
        "model_as_layer": model_tree(_desc("neon.models.Model", layers=str(self_path))),
        "cost_as_activation": model_tree(
            linear(),
            _desc("neon.layers.Activation", transform=_desc("neon.transforms.MeanSquared")),
        ),
        "callbacks_as_root": {**model_tree(linear()), "model": callbacks},
        "initializer_as_layer": model_tree(_desc("neon.initializers.Gaussian")),
    }


def write_gadget(path: Path, tree: dict[str, Any], kind: str) -> None:
    """``tree`` as a neon pickle (``kind='pickle'``) or as our own format."""
    if kind == "pickle":
        path.write_bytes(pickle.dumps(tree, 2))
    else:
        write_prm(path, tree)
