"""Description gadgets: objects a hostile description asks for at the wrong position.

Built naively they delete (``Callbacks(output_file=...)``), read (``Text(path=...)``), open
(``HDF5Iterator``) or recurse into (``Model(layers=<this file>)``) files. In both formats and
through every entry point, the schema must refuse them before anything is built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neon_torch.errors import LayerConfigError, PrmFormatError, ShapeMismatchError
from neon_torch.models import Model
from neon_torch.serialization import write_prm

from . import payloads
from ._runner import run_cases

ENTRIES = ("model", "to_state_dict", "inspect", "convert_pt", "convert_prm")


@pytest.mark.parametrize("kind", ["pickle", "neon_torch"])
def test_gadgets_build_nothing_and_leave_the_victim(tmp_path: Path, kind: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    cases = []
    names = []
    for name in payloads.description_gadgets(victim, tmp_path / "x").keys():
        path = tmp_path / f"{name}.prm"
        tree = payloads.description_gadgets(victim, path)[name]
        payloads.write_gadget(path, tree, kind)
        names.append(name)
        cases.extend((str(path), entry) for entry in ENTRIES)
    before = sorted(p.name for p in tmp_path.iterdir())
    results = run_cases(cases, tmp_path / "run", victim=victim)
    assert all(r.get("victim_ok") for r in results), [r for r in results if not r.get("victim_ok")]
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "run") == before
    # inspect only prints a file; every other entry point must refuse each gadget
    refused = [r for r in results if cases[r["i"]][1] != "inspect"]
    assert all(r["outcome"] == "typed" for r in refused), [
        (Path(cases[r["i"]][0]).stem, cases[r["i"]][1], r)
        for r in refused
        if r["outcome"] != "typed"
    ]
    assert all(r["outcome"] in ("ok", "typed") for r in results)


def test_refusal_names_the_position(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    gadgets = payloads.description_gadgets(victim, tmp_path / "self.prm")
    cases = {
        "callbacks_as_init": r"layers\.0\.init: neon\.callbacks\.Callbacks is not an initializer",
        "callbacks_in_parallelism": r"model\.layers\.0\.parallelism: holds an object description",
        "text_as_layer": r"model\.layers\.1: neon\.data\.Text is not a layer",
        "model_as_layer": r"model\.layers\.0: neon\.models\.Model is not a layer",
        "cost_as_activation": r"layers\.1\.transform: .*MeanSquared is not an activation transform",
        "callbacks_as_root": r"model: neon\.callbacks\.Callbacks is not a layer container",
    }
    for name, pattern in cases.items():
        path = tmp_path / f"{name}.prm"
        write_prm(path, gadgets[name])
        with pytest.raises(PrmFormatError, match=pattern):
            Model(str(path))


def test_config_values_are_type_checked(tmp_path: Path) -> None:
    bad = {
        "nout": "ten",
        "name": 5,
        "bsum": "yes",
    }
    for key, value in bad.items():
        path = tmp_path / f"{key}.prm"
        write_prm(path, payloads.model_tree(payloads.linear(**{key: value})))
        with pytest.raises(PrmFormatError, match=rf"model\.layers\.0\.{key}: a "):
            Model(str(path))
    path = tmp_path / "big.prm"
    write_prm(path, payloads.model_tree(payloads.linear(nout=10**12)))
    with pytest.raises(PrmFormatError, match="nout"):
        Model(str(path))


def test_declared_sizes_beyond_the_file_fail_before_allocation(tmp_path: Path) -> None:
    """nout = 1e9 would be 12 GB of weights; the file holds 6 values."""
    path = tmp_path / "big.prm"
    write_prm(path, payloads.model_tree(payloads.linear(nout=10**9)))
    results = run_cases([(str(path), "model")], tmp_path / "run")
    assert results[0]["outcome"] == "typed", results[0]
    assert results[0]["error"] == ShapeMismatchError.__name__
    assert results[0]["peak_mb"] < 100
    wide = tmp_path / "wide.prm"
    write_prm(wide, payloads.model_tree(payloads.linear(), input_shape=10**8))
    with pytest.raises(ShapeMismatchError, match="more values than the file still holds"):
        Model(str(wide))


def test_well_typed_but_unbuildable_config_is_a_layer_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.prm"
    write_prm(path, payloads.model_tree(payloads.linear(nout=-3)))
    with pytest.raises((LayerConfigError, ShapeMismatchError, PrmFormatError), match=r"x\.prm"):
        Model(str(path))


def test_a_good_tree_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.prm"
    write_prm(path, payloads.model_tree(payloads.linear()))
    model = Model(str(path))
    np.testing.assert_array_equal(model.layers.layers[0].neon_params()["W"], np.full((2, 3), 0.25))
