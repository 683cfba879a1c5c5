"""Seeded fuzz: 2,000 byte-level mutants of two real neon pickles and of our own format.

Every mutant is loaded with ``Model(path)`` (and every fifth also shown by ``neon-torch
inspect``) in a child process (batched; a crash or hang is recorded and the child restarted).
Required: no crash, no hang, no untyped error, no side effect, a one-line message naming the
file, and every mutant that loads gives the source's numbers, except legacy mutants that
changed bytes inside array data (neon's pickles carry no checksum, so nothing can see those);
their count is printed.
"""

from __future__ import annotations

from pathlib import Path

from neon_torch.backends import gen_backend
from neon_torch.models import Model

from . import payloads
from ._runner import run_cases
from .fuzz import write_mutants

PER_SOURCE = 500
CONV = payloads.MLP.parents[1] / "conv" / "conv.prm"


def _fuzz(source: Path, seed: int, work: Path) -> dict[str, int]:
    mutants = write_mutants(source, PER_SOURCE, seed, work / "mutants")
    cases = [(str(path), "model") for path, _ in mutants]
    cases += [(str(path), "inspect") for path, _ in mutants[::5]]  # the CLI, on a fifth
    results = run_cases(cases, work / "run", reference=str(source))
    assert all(r["outcome"] in ("ok", "typed") for r in results[PER_SOURCE:]), [
        r for r in results[PER_SOURCE:] if r["outcome"] not in ("ok", "typed")
    ][:5]
    results = results[:PER_SOURCE]
    counts = {"ok_same": 0, "ok_unseeable": 0, "typed": 0}
    bad = []
    for r in results:
        _, invisible = mutants[r["i"]]
        if not r.get("victim_ok", True) or r["outcome"] not in ("ok", "typed"):
            bad.append((r["i"], r["outcome"], r.get("error"), r.get("message")))
        elif r["outcome"] == "typed":
            counts["typed"] += 1
            if r.get("message_lines", 1) != 1 or str(mutants[r["i"]][0]) not in r["message"]:
                bad.append((r["i"], "message", r["message"]))
        elif r["same"]:
            counts["ok_same"] += 1
        elif invisible:
            counts["ok_unseeable"] += 1
        else:
            bad.append((r["i"], "different numbers", None, None))
    assert not bad, bad[:10]
    assert sum(counts.values()) == PER_SOURCE
    return counts


def test_fuzz_legacy_and_own_format(tmp_path: Path) -> None:
    counts = {}
    for seed, source in enumerate((payloads.MLP, CONV)):
        gen_backend("cpu", rng_seed=0, batch_size=4)
        ours = tmp_path / f"ours_{source.stem}.prm"
        Model(str(source)).save_params(ours)
        counts[f"legacy {source.stem}"] = _fuzz(source, seed, tmp_path / f"legacy_{seed}")
        counts[f"own {source.stem}"] = _fuzz(ours, 100 + seed, tmp_path / f"own_{seed}")
    print(f"fuzz outcomes: {counts}")
    for name, outcome in counts.items():
        assert outcome["typed"] > PER_SOURCE // 2
        if name.startswith("own"):
            assert outcome["ok_unseeable"] == 0  # a checksum sees every byte
