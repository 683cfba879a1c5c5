"""Static check of a neon script: every neon module and name it imports, resolved under the
shim, without running the script.

The script is parsed (never executed); ``import neon.x``, ``from neon.x import A, B`` and
``from neon import x`` statements anywhere in it are collected, and so are those of the local
modules it imports from its own directory (``from utils import ...`` next to the script, as
neon's examples do), recursively. Each name is then resolved through the shim exactly as the
import would be.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

from ._finder import NeonNameError, missing_reason
from ._table import MODULES, NEON_API

__all__ = ["Unsupported", "check_script"]


@dataclass(frozen=True)
class Unsupported:
    """One neon import a script makes that neon_torch does not provide."""

    file: str
    line: int
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.name}: {self.reason}"


def _imports(tree: ast.AST) -> list[tuple[int, str, str | None]]:
    """``(line, module, name or None)`` for every import statement in ``tree``."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, None) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, node.module, a.name) for a in node.names)
    return found


def _resolve(module: str, name: str | None) -> str | None:
    """None when the import works under the shim, else the qualified name that fails."""
    try:
        mod = importlib.import_module(module)
    except NeonNameError:
        parts = module.split(".")
        for cut in range(2, len(parts) + 1):  # the first module on the path that fails
            try:
                importlib.import_module(".".join(parts[:cut]))
            except NeonNameError:
                return ".".join(parts[:cut])
        return module
    if name is None or name == "*":
        return None
    try:
        getattr(mod, name)
    except (ImportError, AttributeError):
        return f"{module}.{name}"
    return None


def check_script(path: str | Path) -> list[Unsupported]:
    """Every unsupported neon import of the script at ``path`` and its local modules, in file
    and line order (the shim must be installed)."""
    script = Path(path).resolve()
    todo, seen = [script], set()
    problems: dict[tuple[str, int, str], Unsupported] = {}
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        tree = ast.parse(current.read_text(encoding="utf-8", errors="replace"), str(current))
        for line, module, name in _imports(tree):
            root = module.split(".")[0]
            if root != "neon":
                local = script.parent / f"{root}.py"
                if local.is_file():
                    todo.append(local)
                continue
            if module == "neon" and name is not None and f"neon.{name}" in {*MODULES, *NEON_API}:
                module, name = f"neon.{name}", None
            failed = _resolve(module, name)
            if failed is not None:
                where = str(current.relative_to(script.parent)) if current != script else str(path)
                parent = failed.rpartition(".")[0]
                is_name = name is not None and failed == f"{module}.{name}"
                reason = missing_reason(failed, parent if is_name else None)
                problems.setdefault((where, line, failed), Unsupported(where, line, failed, reason))
    return list(problems.values())
