"""tools/legacy_table.py: the README's table of neon examples from the harness's output."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from ..helpers.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
CASES = REPO.parent / "shared" / "legacy" / "cases.json"


def _tool() -> ModuleType:
    return load_script(REPO / "tools" / "legacy_table.py")


@pytest.mark.skipif(not CASES.is_file(), reason="the harness's case files (../shared) are not here")
def test_table_from_harness_lines(tmp_path: Path) -> None:
    first = tmp_path / "a.log"
    first.write_text(
        "fake data in /tmp/x (0.1s)\n"
        "PASS mnist_mlp 3.2s\n"
        "FAIL image_caption: exit code 1 (Flickr8k is not provided)\n"
        "FAIL cifar10: exit code 1 (TypeError: boom)\n"
        "legacy examples: 1 passed, 2 failed\n"
    )
    second = tmp_path / "b.log"
    second.write_text("PASS cifar10 3.0s\n")  # a later run of the same case wins
    families = {
        "issues": {"18": "Sequence-to-sequence family: Seq2Seq"},
        "cases": {"image_caption": 18},
    }
    text = _tool().table([first, second], families)
    lines = text.splitlines()
    assert lines[0].startswith("2 of 3 cases run unchanged")
    assert "| `mnist_mlp.py` | mnist_mlp | runs |" in lines
    assert (
        "| `image_caption.py` | image_caption | not yet (needs Sequence-to-sequence family) |"
        in (lines)
    )
    assert "| `cifar10.py` | cifar10 | runs |" in lines
    assert [ln.split("|")[2].strip() for ln in lines[4:]] == [
        "mnist_mlp",
        "cifar10",
        "image_caption",
    ]
