"""The opt-in ``neon`` import shim."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from neon_torch import compat
from neon_torch.compat._table import MODULES, UNSUPPORTED


@pytest.fixture
def shim() -> Iterator[None]:
    compat.install()
    yield
    compat.uninstall()


def test_plain_import_does_not_install() -> None:
    code = "import sys, neon_torch; print(any('Neon' in type(f).__name__ for f in sys.meta_path))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert not compat.is_installed()


@pytest.mark.usefixtures("shim")
def test_every_listed_module_imports_and_names_resolve() -> None:
    import neon_torch.callbacks as C
    import neon_torch.data as D
    import neon_torch.layers as L

    for path in MODULES:
        module = importlib.import_module(path)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{path}.{name}"
    from neon.callbacks.callbacks import Callbacks
    from neon.data import MNIST, ArrayIterator
    from neon.layers import Affine
    from neon.layers.layer import Linear
    from neon.util.argparser import NeonArgparser

    assert Affine is L.Affine and Linear is L.Linear and Callbacks is C.Callbacks
    assert ArrayIterator is D.ArrayIterator and MNIST is D.MNIST
    assert NeonArgparser.__module__ == "neon_torch.util.argparser"
    import neon
    import neon.transforms.cost

    assert neon.__version__ == "2.6.0" and hasattr(neon.logger, "display")
    assert neon.transforms.cost.CrossEntropyBinary.__name__ == "CrossEntropyBinary"
    assert neon.layers.layer.Linear is L.Linear  # submodules reachable as attributes


@pytest.mark.usefixtures("shim")
def test_unsupported_names_and_modules_say_why() -> None:
    with pytest.raises(ImportError, match=r"neon\.layers\.RoiPooling .*docs/compat\.md"):
        from neon.layers import RoiPooling  # noqa: F401
    with pytest.raises(ImportError, match=r"neon\.layers\.layer\.BatchNormAutodiff .*demonstr"):
        from neon.layers.layer import BatchNormAutodiff  # noqa: F401
    with pytest.raises(ImportError, match=r"neon\.visualizations .*docs/compat\.md"):
        import neon.visualizations
    with pytest.raises(ImportError, match="NoSuchLayer"):
        from neon.layers import NoSuchLayer  # noqa: F401
    import neon.layers

    assert not hasattr(neon.layers, "__wrapped__")  # private names stay AttributeErrors
    assert all(name.startswith("neon.") for name in UNSUPPORTED)


def test_uninstall_removes_modules() -> None:
    compat.install()
    compat.install()  # idempotent
    import neon.layers

    compat.uninstall()
    assert "neon" not in sys.modules and "neon.layers" not in sys.modules
    with pytest.raises(ImportError):
        import neon  # noqa: F401


def test_compat_doc_lists_every_module_and_unsupported_name() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "compat.md").read_text()
    for name in MODULES:
        assert f"`{name}`" in text, name
