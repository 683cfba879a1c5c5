"""The legacy-pickle reader: gadgets, structure bombs and size bombs, through every entry point.

The loads run in child processes (a crash would otherwise take pytest with it); each must end
in one NeonTorchError, quickly, without touching the victim file and without taking memory in
proportion to what the file merely announces.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import pytest

from neon_torch.errors import NeonTorchError, UnsafePickleError
from neon_torch.serialization import read_file

from . import payloads
from ._runner import run_cases

ENTRIES = ("read_file", "model", "to_state_dict", "load_obj", "inspect", "convert_pt")


def test_every_gadget_ends_in_one_typed_error_everywhere(tmp_path: Path) -> None:
    cases = []
    for name, build in payloads.UNPICKLER_GADGETS.items():
        path = tmp_path / f"{name}.prm"
        path.write_bytes(build())
        cases.extend((str(path), entry) for entry in ENTRIES)
    results = run_cases(cases, tmp_path / "run")
    failures = [
        (Path(cases[r["i"]][0]).stem, cases[r["i"]][1], r["outcome"], r.get("error"))
        for r in results
        if r["outcome"] != "typed" or not r["victim_ok"]
    ]
    assert not failures
    slow = [(cases[r["i"]], r["seconds"]) for r in results if r["seconds"] > 5]
    assert not slow
    heavy = [(cases[r["i"]], r["peak_mb"]) for r in results if r["peak_mb"] > 200]
    assert not heavy  # a 3.6 GB shape announced in 200 bytes allocates nothing
    messages = [r["message"] for r in results if r.get("message")]
    assert all("\n" not in m and ".prm" in m for m in messages)


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("object_array_via_ndarray", UnsafePickleError, "numpy.ndarray"),
        ("object_dtype_array", UnsafePickleError, "dtype object"),
        ("structured_dtype_build", UnsafePickleError, "kind 'V'"),
        ("build_on_ordered_dict", UnsafePickleError, "BUILD on a dict"),
        ("unknown_codec", UnsafePickleError, "no-such-codec"),
        ("array_without_build", NeonTorchError, "never given its data"),
        ("huge_shape", NeonTorchError, "needs 3600000000 bytes, the file gives 4"),
        ("self_list", NeonTorchError, "cyclic references"),
        ("doubling_dag", NeonTorchError, "expand to many times"),
        ("deep_lists", NeonTorchError, "deeper than"),
        ("many_marks", NeonTorchError, "MARK"),
        ("many_lists", NeonTorchError, "at most one per 16 bytes"),
        ("newobj", UnsafePickleError, "opcode"),
        ("huge_long", NeonTorchError, "integer of 100000 bytes"),
    ],
)
def test_refusals_say_what_was_found(tmp_path: Path, name: str, error: type, words: str) -> None:
    path = tmp_path / "x.prm"
    path.write_bytes(payloads.UNPICKLER_GADGETS[name]())
    with pytest.raises(error, match=r"x\.prm") as info:
        read_file(path)
    assert words in str(info.value)


def test_shared_containers_are_read_as_copies(tmp_path: Path) -> None:
    """neon pickles one config dict used by several layers once and references it again
    (neon's C3D example passes one ``padding`` dict to every convolution)."""
    shared_tuple = payloads.pickled(
        payloads.EMPTY_LIST
        + payloads.int1(3)
        + payloads.int1(3)
        + payloads.TUPLE2
        + payloads.put(0)
        + payloads.APPEND
        + payloads.get(0)
        + payloads.APPEND
    )
    (tmp_path / "t.prm").write_bytes(shared_tuple)
    assert read_file_raw(tmp_path / "t.prm") == [(3, 3), (3, 3)]
    padding = {"pad_d": 1, "pad_h": 1, "pad_w": 1}
    tree = {"layers": [{"padding": padding, "fshape": [3, 3]} for _ in range(3)]}
    tree["layers"].append(tree["layers"][0])  # a shared layer dict holding a shared dict
    (tmp_path / "d.prm").write_bytes(pickle.dumps(tree, 2))
    loaded = read_file_raw(tmp_path / "d.prm")
    assert loaded == tree
    layers = loaded["layers"]
    assert len({id(d["padding"]) for d in layers}) == len(layers)  # independent copies
    assert len({id(d) for d in layers}) == len(layers)
    layers[0]["padding"]["pad_d"] = 7
    assert layers[3]["padding"]["pad_d"] == 1


def read_file_raw(path: Path) -> object:
    from neon_torch.serialization import read_raw

    return read_raw(path)[1]


def test_gzip_bomb_stops_at_the_expansion_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.prm.gz"
    path.write_bytes(payloads.gzip_bomb())
    assert path.stat().st_size < 1 << 20
    results = run_cases([(str(path), "read_file")], tmp_path / "run")
    assert results[0]["outcome"] == "typed", results[0]
    assert "size limit" in results[0]["message"]
    assert results[0]["peak_mb"] < 100


def test_gzipped_real_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "real.gz"
    path.write_bytes(gzip.compress(payloads.MLP.read_bytes()))
    assert read_file(path).kind == "pickle+gzip"
