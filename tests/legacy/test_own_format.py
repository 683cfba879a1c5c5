"""The committed file in neon_torch's own ``.prm`` format: today's writer must produce the same
bytes from the same seeded run, and today's reader must load it (files users saved stay
readable; a format change shows up here and needs a reader for the old bytes)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from neon_torch.backends import gen_backend
from neon_torch.models import Model

from ..helpers.scripts import load_script

HERE = Path(__file__).resolve().parent
COMMITTED = HERE.parent / "data" / "own_format" / "mlp.prm"


def _maker() -> ModuleType:
    return load_script(HERE / "make_own_format_file.py")


def test_the_writer_reproduces_the_committed_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "mlp.prm"
    _maker().build(out)
    assert out.read_bytes() == COMMITTED.read_bytes()


def test_the_committed_file_loads_with_its_weights_states_and_counters(tmp_path: Path) -> None:
    trained = _maker().build(tmp_path / "again.prm")
    gen_backend("cpu", batch_size=4)
    loaded = Model(str(COMMITTED))
    assert loaded.epoch_index == trained.epoch_index
    ours = loaded.get_description(get_weights=True, keep_states=True)["model"]
    theirs = trained.get_description(get_weights=True, keep_states=True)["model"]
    assert str(loaded) == str(trained)

    def arrays(tree: object) -> list[np.ndarray]:
        if isinstance(tree, np.ndarray):
            return [tree]
        if isinstance(tree, dict):
            return [a for k in sorted(tree) for a in arrays(tree[k])]
        if isinstance(tree, (list, tuple)):
            return [a for v in tree for a in arrays(v)]
        return []

    got, want = arrays(ours), arrays(theirs)
    assert len(got) == len(want) >= 6  # weights, biases and Adam's two states per parameter
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
