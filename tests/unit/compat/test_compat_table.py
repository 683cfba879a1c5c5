"""The compatibility table and the shim against neon 2.6's own module list, and
``neon-torch check``."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from neon_torch import compat
from neon_torch.cli import main
from neon_torch.compat._table import INTERNAL_MODULES, NEON_API, NOTES, UNSUPPORTED

REPO = Path(__file__).resolve().parents[3]
NEON_PKG = REPO.parent / "shared" / "neon_src" / "neon"


@pytest.fixture
def shim() -> Iterator[None]:
    compat.install()
    yield
    compat.uninstall()


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / name), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.skipif(not NEON_PKG.is_dir(), reason="neon's source tree (../shared) is not here")
def test_neon_api_json_is_what_neons_source_says() -> None:
    proc = _tool("neon_api.py", str(NEON_PKG), "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compat_doc_is_generated_from_the_shim() -> None:
    proc = _tool("compat_doc.py", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_table_entries_name_real_neon_things() -> None:
    modules = set(NEON_API)
    names = {f"{m}.{n}" for m, ns in NEON_API.items() for n in ns}

    def real(key: str) -> bool:  # a module, a name, or a package-level name re-exported below
        if key in modules or key in names or any(m.startswith(key + ".") for m in modules):
            return True
        package, _, name = key.rpartition(".")
        return any(m.startswith(package + ".") and name in ns for m, ns in NEON_API.items())

    stale = [k for k in [*UNSUPPORTED, *INTERNAL_MODULES, *NOTES] if not real(k)]
    assert stale == []


@pytest.mark.usefixtures("shim")
def test_every_real_module_imports_or_says_why() -> None:
    imported = refused = 0
    for module in NEON_API:
        try:
            importlib.import_module(module)
            imported += 1
        except compat.NeonNameError as err:
            assert module.startswith(str(err).split()[0]) and "docs/compat.md" in str(err)
            refused += 1
    assert imported > 30 and refused > 10


@pytest.mark.usefixtures("shim")
def test_missing_names_are_told_apart() -> None:
    with pytest.raises(ImportError, match=r"RoiPooling .*object detection"):
        from neon.layers import RoiPooling  # noqa: F401
    from neon.data.text import TextNMT
    from neon.transforms.cost import BLEUScore

    assert TextNMT.__module__ == "neon_torch.data.text"
    assert BLEUScore.__module__ == "neon_torch.transforms.metric"
    with pytest.raises(ImportError, match=r"neon 2\.6 has no such public module or name"):
        from neon.data.text import NoSuchDataset  # noqa: F401
    with pytest.raises(ImportError, match="backend internal"):
        import neon.backends.winograd4  # noqa: F401
    from neon.benchmark import Benchmark
    from neon.util.persist import ensure_dirs_exist, get_data_cache_or_nothing

    assert Benchmark.__module__ == "neon_torch.benchmark.benchmark"
    assert callable(ensure_dirs_exist) and callable(get_data_cache_or_nothing)


def test_check_lists_every_unsupported_import(tmp_path: Path, capsys) -> None:
    (tmp_path / "helpers.py").write_text("from neon.data import DUMMY\n")
    script = tmp_path / "script.py"
    script.write_text(
        "import numpy as np\n"
        "from neon.layers import Affine, RoiPooling, BatchNormAutodiff\n"
        "from helpers import something\n"
        "import neon.data.convert_manifest\n"
        "def f():\n"
        "    from neon.callbacks import HistCallback\n"
    )
    assert main(["check", str(script)]) == 1
    out = capsys.readouterr().out.splitlines()
    listed = [line.split(": ")[1] for line in out[:-1]]
    assert listed == [
        "neon.layers.RoiPooling",
        "neon.layers.BatchNormAutodiff",
        "neon.data.convert_manifest",
        "neon.callbacks.HistCallback",
        "neon.data.DUMMY",
    ]
    assert out[0].startswith(f"{script}:2: ") and out[-1].endswith("see docs/compat.md")
    assert not compat.is_installed()


def test_check_passes_a_supported_script(tmp_path: Path, capsys) -> None:
    script = tmp_path / "ok.py"
    script.write_text("from neon.layers import Affine\nfrom neon import NervanaObject\n")
    assert main(["check", str(script)]) == 0
    assert "every neon import resolves" in capsys.readouterr().out


def test_run_reports_all_unsupported_names_at_the_first(tmp_path: Path, capsys) -> None:
    script = tmp_path / "qa.py"
    script.write_text("from neon.layers import BatchNormAutodiff\nfrom neon.data import DUMMY\n")
    assert main(["run", str(script)]) == 1
    err = capsys.readouterr().err
    assert "imports 2 neon names neon_torch does not provide" in err
    assert "neon.layers.BatchNormAutodiff" in err and "neon.data.DUMMY" in err
