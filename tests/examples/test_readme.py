"""The README's quick-start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_quick_start_runs_as_written(capsys) -> None:
    text = README.read_text()
    section = text[text.index("## Porting a neon script") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    value = re.search(r"Misclassification error = ([0-9.]+)%", out)
    assert value is not None, out[-500:]
    assert 0.0 <= float(value.group(1)) <= 100.0
