"""Write neon 2.6's module list and public names, read from neon's own source tree.

    python tools/neon_api.py [NEON_PACKAGE_DIR] [--check]

NEON_PACKAGE_DIR is the ``neon`` package of a neon 2.6 checkout (default:
``../shared/neon_src/neon`` next to this repository). The source is parsed, never imported.
A module's public names are the classes and functions it defines at top level, and for a
package ``__init__`` also the names it imports or assigns (its re-exports), without names that
start with an underscore (``neon.__version__`` is kept); files whose names are not Python
identifiers cannot be imported and are left out. The result goes to
``neon_torch/compat/neon_api.json``; ``--check`` only compares and exits 1 on a difference.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "neon_torch" / "compat" / "neon_api.json"
DEFAULT_SRC = REPO.parent / "shared" / "neon_src" / "neon"


def _public(name: str) -> bool:
    return not name.startswith("_") or name == "__version__"


def _from_neon(node: ast.ImportFrom) -> bool:
    """A re-export: a relative import or one from neon itself (not the standard library)."""
    return node.level > 0 or (node.module or "").split(".")[0] == "neon"


def module_names(path: Path) -> list[str]:
    """Public top-level names of one neon source file."""
    tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), str(path))
    package = path.name == "__init__.py"
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif package and isinstance(node, ast.ImportFrom) and _from_neon(node):
            names.update(a.asname or a.name for a in node.names if a.name != "*")
        elif package and isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return sorted(n for n in names if _public(n))


def neon_api(src: Path) -> dict[str, list[str]]:
    """``{neon module path: [public names]}`` for every module of the package at ``src``."""
    api: dict[str, list[str]] = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1].startswith("_"):
            continue
        if not all(p.isidentifier() for p in parts):  # e.g. convnet-benchmarks.py
            continue
        api[".".join(parts)] = module_names(path)
    return dict(sorted(api.items()))


def render(api: dict[str, list[str]]) -> str:
    return json.dumps(api, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    src = Path(args[0]) if args else DEFAULT_SRC
    if not (src / "__init__.py").is_file():
        print(f"neon_api: no neon package at {src}", file=sys.stderr)
        return 2
    text = render(neon_api(src))
    if "--check" in argv:
        same = OUTPUT.read_text() == text
        print("neon_api.json is up to date" if same else "neon_api.json differs from the source")
        return 0 if same else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO)}: {len(text.splitlines())} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
