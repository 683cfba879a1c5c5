"""The house rules of the package's structure (see docs/architecture.md), checked."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from types import ModuleType

import pytest
import torch

from neon_torch.backends import cleanup_backend, current_backend, gen_backend
from neon_torch.errors import (
    NeonCompatWarning,
    UnknownNeonTypeError,
    UnsupportedNeonFeature,
    warn_once,
)
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine
from neon_torch.models import Model
from neon_torch.registry import lookup, lookup_short
from neon_torch.transforms import Rectlin, Softmax
from neon_torch.transforms.activation import Transform

from ..helpers.scripts import load_script

PACKAGE = Path(__file__).resolve().parents[2] / "neon_torch"
TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _import_graph() -> ModuleType:
    return load_script(TOOLS / "import_graph.py")


def test_no_import_circle_in_the_package() -> None:
    tool = _import_graph()
    edges = tool.graph(PACKAGE)
    assert len(edges) > 100  # the whole package was read
    assert tool.circles(edges) == []


def test_the_circle_finder_sees_a_circle(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from . import b\n")
    (root / "b.py").write_text("def f():\n    from .c import x\n")
    (root / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import y\n"
    )
    tool = _import_graph()
    assert tool.circles(tool.graph(root)) == [["pkg.a", "pkg.b", "pkg.c"]]


def _model_private_writes(path: Path, root: Path = PACKAGE) -> list[str]:
    """``<something model-ish>._name = ...`` assignments (and ``setattr(model, ...)``) in one
    file: an owner expression whose last part ends in ``model``."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if not isinstance(target, ast.Attribute) or not target.attr.startswith("_"):
                continue
            owner = ast.unparse(target.value)
            if owner.split(".")[-1].lower().endswith("model"):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {owner}.{target.attr}")
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr" and node.args:
            if ast.unparse(node.args[0]).split(".")[-1].lower().endswith("model"):
                found.append(f"{path.relative_to(root)}:{node.lineno}: setattr")
    return found


def test_only_the_models_package_writes_a_models_private_fields() -> None:
    writes = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "models"
        for hit in _model_private_writes(path)
    ]
    assert writes == []


def test_the_private_write_finder_sees_them(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(model, self):\n"
        "    model._pending = 1\n"
        "    self.model._x += 2\n"
        "    setattr(model, '_y', 3)\n"
        "    model.run_state.total_cost = None\n"
        "    layer._x = 4\n"
    )
    assert _model_private_writes(probe, tmp_path) == [
        "probe.py:2: model._pending",
        "probe.py:3: self.model._x",
        "probe.py:4: setattr",
    ]


def test_model_reads_the_backend_of_the_last_gen_backend() -> None:
    gen_backend("cpu", batch_size=4)
    model = Model([Affine(nout=2, init=Gaussian())])
    again = gen_backend("cpu", batch_size=8, rng_seed=1)
    assert model.be is again
    assert model.be.bsz == 8


def test_cleanup_backend_undoes_what_gen_backend_set() -> None:
    before = torch.backends.cudnn.benchmark
    gen_backend("cpu", cudnn_benchmark=True)
    assert torch.backends.cudnn.benchmark is True
    with pytest.warns(NeonCompatWarning):
        warn_once("test.cleanup", "shown once per backend")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_once("test.cleanup", "not shown twice")
    cleanup_backend()
    assert torch.backends.cudnn.benchmark is before
    with pytest.warns(NeonCompatWarning):
        warn_once("test.cleanup", "shown again after cleanup_backend")
    # a new backend starts from torch's own settings, not from an earlier backend's
    gen_backend("cpu", cudnn_benchmark=True)
    gen_backend("cpu")
    assert torch.backends.cudnn.benchmark is before


def test_current_backend_without_gen_backend_is_the_documented_default() -> None:
    be = current_backend()
    assert be is current_backend()
    assert (be.device.type, be.bsz, be.torch_dtype) == ("cpu", 0, torch.float32)


def test_model_state_between_calls_is_one_object() -> None:
    gen_backend("cpu", batch_size=2)
    model = Model([Affine(nout=3, init=Gaussian())])
    model.initialize(4)
    assert model.run_state.last_output is None
    y = model.fprop(torch.ones(2, 4))
    assert model.run_state.last_output is y
    private = sorted(k for k in vars(model) if k.startswith("_") and not k.startswith("__"))
    assert private == ["_counted"]  # neon's name counter; the rest lives in run_state


def test_each_transform_gives_its_own_plain_torch_form() -> None:
    x = torch.linspace(-2, 2, 12).reshape(3, 4)
    assert torch.equal(Rectlin(slope=0.25).to_torch()(x), torch.nn.functional.leaky_relu(x, 0.25))
    assert torch.allclose(Softmax().to_torch()(x), torch.softmax(x, dim=-1))

    class Doubled(Rectlin):  # redefines the math without a plain-torch form
        def __call__(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * super().__call__(x)

    with pytest.raises(UnsupportedNeonFeature, match="Doubled has no plain-torch form"):
        Doubled().to_torch()

    class Plain(Transform):
        def __call__(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(UnsupportedNeonFeature, match="Plain"):
        Plain().to_torch()


def test_short_names_resolve_through_the_one_registry() -> None:
    packages = ("neon.layers", "neon.initializers")
    assert lookup_short("Affine", packages) is Affine
    assert lookup_short("neon.layers.layer.Affine", packages) is Affine
    with pytest.raises(UnknownNeonTypeError, match=r"file.yaml: unknown type 'Afine'.*Affine"):
        lookup_short("Afine", packages, "file.yaml")
    with pytest.raises(UnknownNeonTypeError):
        lookup_short("Rectlin", packages)  # a transform, not in the packages searched
    with pytest.raises(UnknownNeonTypeError):  # files never name a builder such as Affine
        lookup("neon.layers.layer.Affine")
