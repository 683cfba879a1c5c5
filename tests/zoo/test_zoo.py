"""Model-zoo-scale neon files: ``Model(file)``, ``to_torch_module(file)`` and ``neon-torch
convert`` give the outputs neon 2.6 recorded for the same file.

The ``.prm`` files (40 MB to 1 GB, written by real neon with ``make_zoo.py``) live in a cache
directory (``$NEON_TORCH_ZOO`` or ``~/.cache/neon_torch_zoo``); only the small recorded inputs
and outputs (``tests/data/zoo/<arch>.npz``; the input is made again from its seed and
checked against the recorded sha256) are committed. Without the cached file a case is
skipped with the command that makes it.

Outputs are compared relative to their spread around the per-sample mean: most of these
random-init networks end in a 1000-way softmax whose values all lie near 1/1000, so a plain
tolerance on the values would not notice a wrong weight layout, but a tolerance on the
deviations from the mean does.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from .make_zoo import ARCHS, cache_dir, make_input

DATA = Path(__file__).resolve().parent.parent / "data" / "zoo"
MAKE = "env PYTHONPATH=<neon 2.6 src> python tests/zoo/make_zoo.py"
PT2_MAX_BYTES = 400 * 2**20  # torch.export of bigger models costs minutes and several GB

pytestmark = pytest.mark.slow


def _case(arch: str) -> tuple[Path, dict[str, np.ndarray]]:
    ref_path = DATA / f"{arch}.npz"
    if not ref_path.exists():
        pytest.skip(f"{ref_path} is missing; make it with `{MAKE} {arch}`")
    prm = Path(cache_dir()) / f"{arch}.prm"
    if not prm.exists():
        pytest.skip(f"{prm} is missing (real neon writes it); make it with `{MAKE} {arch}`")
    ref = dict(np.load(ref_path))
    ref["x"] = make_input(arch)
    assert hashlib.sha256(ref["x"].tobytes()).hexdigest() == str(ref["x_sha256"]), (
        "make_input no longer makes the recorded input"
    )
    if prm.stat().st_size != int(ref["prm_bytes"]):
        pytest.skip(f"{prm} is not the file the recorded outputs belong to; rerun `{MAKE} {arch}`")
    return prm, ref


def _check(got: np.ndarray, ref: dict[str, np.ndarray], what: str) -> None:
    expected = ref["outputs"]
    got = np.asarray(got, dtype=np.float64).reshape(expected.shape)
    spread = np.abs(expected - expected.mean(axis=-1, keepdims=True)).max()
    worst = np.abs(got - expected).max()
    assert worst <= 1e-3 * spread + 1e-6, (
        f"{what}: max |diff| {worst:.3g} against an output spread of {spread:.3g}"
    )


def _images(ref: dict[str, np.ndarray]) -> torch.Tensor:
    x = ref["x"]
    return torch.from_numpy(x.reshape(len(x), *[int(d) for d in ref["lshape"]]))


@pytest.fixture(params=list(ARCHS))
def arch(request: pytest.FixtureRequest) -> str:
    return request.param


def test_recorded_file_is_the_cached_file(arch: str) -> None:
    prm, ref = _case(arch)
    digest = hashlib.sha256()
    with open(prm, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    assert digest.hexdigest() == str(ref["prm_sha256"])


def test_model_from_file_gives_neons_outputs(arch: str) -> None:
    from neon_torch.backends import gen_backend
    from neon_torch.data import ArrayIterator
    from neon_torch.models import Model

    prm, ref = _case(arch)
    gen_backend("cpu", rng_seed=0, batch_size=len(ref["x"]))
    model = Model(str(prm))
    data = ArrayIterator(
        ref["x"], None, make_onehot=False, lshape=tuple(int(d) for d in ref["lshape"])
    )
    _check(model.get_outputs(data), ref, "Model(file).get_outputs")


def test_torch_module_gives_neons_outputs(arch: str) -> None:
    from neon_torch.convert import to_torch_module

    prm, ref = _case(arch)
    module = to_torch_module(str(prm))
    with torch.no_grad():
        _check(module(_images(ref)).numpy(), ref, "to_torch_module(file)")


def test_convert_cli_gives_neons_outputs(arch: str, tmp_path: Path) -> None:
    from neon_torch.cli import main
    from neon_torch.convert import to_torch_module

    prm, ref = _case(arch)
    out = tmp_path / "model.pt"
    assert main(["convert", str(prm), str(out), "--quiet"]) == 0
    module = to_torch_module(str(prm))
    for tensor in module.state_dict().values():
        tensor.zero_()  # the outputs must come from the converted file alone
    module.load_state_dict(torch.load(out, weights_only=True))
    with torch.no_grad():
        _check(module(_images(ref)).numpy(), ref, "neon-torch convert (.pt)")
    if os.path.getsize(prm) > PT2_MAX_BYTES:
        return
    out2 = tmp_path / "model.pt2"
    assert main(["convert", str(prm), str(out2), "--quiet"]) == 0
    program = torch.export.load(out2).module()
    with torch.no_grad():
        _check(program(_images(ref)).numpy(), ref, "neon-torch convert (.pt2)")
