"""Find import circles between the modules of ``neon_torch``.

Every ``import`` statement counts, wherever it stands (module level, inside a function, under
``if TYPE_CHECKING``), because each one is a dependency a reader has to follow. A package's
``__init__`` counts as the package. Prints one line per strongly connected group of two or
more modules and exits 1 when there is any; ``--edges`` also prints the edges inside each.

    python3 tools/import_graph.py [--edges] [--root neon_torch]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of ``path``, a file under the package directory ``root``."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, is_pkg: bool, modules: set[str]) -> set[str]:
    """The package modules that the file ``path`` (module ``name``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        # the longest known module prefix of the dotted target
        while target:
            if target in modules:
                return target
            target = target.rpartition(".")[0]
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = resolve(alias.name)
                if hit:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            for alias in node.names:
                hit = resolve(f"{stem}.{alias.name}") or resolve(stem)
                if hit:
                    found.add(hit)
    found.discard(name)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    """Module → imported package modules, for every ``.py`` file under ``root``."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    return {
        name: imports_of(path, name, path.name == "__init__.py", modules)
        for name, path in files.items()
    }


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parent.parent / "neon_torch")
    )
    parser.add_argument("--edges", action="store_true", help="print the edges inside each circle")
    args = parser.parse_args(argv)
    edges = graph(Path(args.root))
    found = circles(edges)
    for group in found:
        print(f"circle of {len(group)}: " + " ".join(group))
        if args.edges:
            members = set(group)
            for name in group:
                for target in sorted(edges[name] & members):
                    print(f"    {name} -> {target}")
    print(f"{len(edges)} modules, {len(found)} import circles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
