"""Turn the legacy harness's output into the README's table of neon's example scripts.

    python ../shared/legacy/run_legacy.py --neon-src ../shared/neon_src > cases.log
    python ../shared/legacy/run_legacy.py --neon-src ../shared/neon_src \\
        --cases cases_extra.json > extra.log
    python tools/legacy_table.py cases.log extra.log [--write]

Each ``PASS name`` / ``FAIL name: reason`` line of the harness becomes a row (the script path
and flags come from the harness's case files); a failing case whose feature family has its own
issue (``tests/legacy/families.json``) names that issue. ``--write`` replaces the table between
the ``legacy-table`` markers of README.md, otherwise it is printed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = REPO.parent / "shared" / "legacy"
README = REPO / "README.md"
BEGIN, END = "<!-- legacy-table:begin -->", "<!-- legacy-table:end -->"


def table(logs: list[Path], families: dict | None = None) -> str:
    """The README's table from harness logs; ``families`` (default: ``families.json``) names
    the issue a failing case waits for."""
    if families is None:
        families = json.loads((REPO / "tests" / "legacy" / "families.json").read_text())
    paths = {}
    for name in ("cases.json", "cases_extra.json"):
        for case in json.loads((CASES / name).read_text())["cases"]:
            paths[case["name"]] = case["path"].removeprefix("examples/")
    results: dict[str, str] = {}  # case -> status; a later log's line wins
    for log in logs:
        for line in log.read_text().splitlines():
            m = re.match(r"(PASS|FAIL) (\S+?)(?::| )(.*)$", line)
            if not m:
                continue
            verdict, name, rest = m.groups()
            if verdict == "PASS":
                results[name] = "runs"
            else:
                issue = families["cases"].get(name)
                family = families["issues"].get(str(issue), "") if issue else ""
                why = f"needs {family.split(':')[0]}" if issue else rest.strip()
                results[name] = f"not yet ({why})"
    order = list(paths)
    names = sorted(results, key=lambda n: order.index(n) if n in order else len(order))
    rows = [f"| `{paths.get(n, n)}` | {n} | {results[n]} |" for n in names]
    passed, total = sum(s == "runs" for s in results.values()), len(results)
    head = [
        f"{passed} of {total} cases run unchanged on neon_torch "
        "(`../shared/legacy/run_legacy.py`, CPU, small fake datasets):",
        "",
        "| neon example | case | status |",
        "|---|---|---|",
    ]
    return "\n".join(head + rows)


def main(argv: list[str]) -> int:
    logs = [Path(a) for a in argv if not a.startswith("--")]
    text = table(logs)
    if "--write" not in argv:
        print(text)
        return 0
    readme = README.read_text()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    README.write_text(readme[:start] + "\n" + text + "\n" + readme[end:])
    print(f"README.md: {text.splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
