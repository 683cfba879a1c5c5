"""Load files in a child process and report each outcome as one JSON line.

``python -m tests.security._worker JOB.json`` reads ``{"cases": [[path, entry], ...],
"reference": path or null, "victim": path}`` and prints, per case, ``{"i", "outcome", "error",
"message", "seconds", "peak_mb", "same", "victim_ok"}``. ``outcome`` is ``ok``, ``typed`` (a
NeonTorchError, or exit code 1/2 without a traceback for CLI entries), ``untyped`` or ``hang``.
A crash of the process shows as missing lines; the parent restarts after the last one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from neon_torch.backends import gen_backend
from neon_torch.cli import main as cli
from neon_torch.convert import to_state_dict
from neon_torch.errors import NeonTorchError
from neon_torch.layers import LayerContainer, ParameterLayer
from neon_torch.models import Model
from neon_torch.serialization import read_file
from neon_torch.util.persist import load_obj

TIMEOUT_S = 10


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang()


def _peak_reset() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _numbers(model: Model) -> list[np.ndarray]:
    out: list[np.ndarray] = []

    def walk(layer: Any) -> None:
        if isinstance(layer, LayerContainer):
            for child in layer.layers:
                walk(child)
        elif isinstance(layer, ParameterLayer):
            params = layer.neon_params()
            out.extend(np.asarray(params[k], np.float64) for k in sorted(params))
            for states in layer.states:
                out.extend(np.asarray(s.detach().cpu(), np.float64) for s in states)

    walk(model.layers)
    return out


def _load(path: str, entry: str, scratch: Path) -> tuple[str, Any]:
    """``(outcome, model or None)`` for one entry point."""
    if entry in ("inspect", "convert_pt", "convert_prm"):
        argv = {
            "inspect": ["inspect", path],
            "convert_pt": ["convert", path, str(scratch / "out.pt"), "--quiet"],
            "convert_prm": ["convert", path, str(scratch / "out.prm"), "--quiet"],
        }[entry]
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = cli(argv)
        if "Traceback" in err.getvalue() or rc not in (0, 1):
            raise RuntimeError(f"exit {rc}: {err.getvalue()[-300:]}")
        return ("ok" if rc == 0 else "typed"), None
    gen_backend("cpu", rng_seed=0, batch_size=4)
    if entry == "model":
        return "ok", Model(path)
    if entry == "to_state_dict":
        to_state_dict(path)
    elif entry == "read_file":
        read_file(path)
    elif entry == "load_obj":
        load_obj(path)
    else:
        raise ValueError(entry)
    return "ok", None


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    victim = Path(job["victim"])
    victim_bytes = victim.read_bytes()
    scratch = Path(job["scratch"])
    signal.signal(signal.SIGALRM, _alarm)
    reference = None
    if job.get("reference"):
        gen_backend("cpu", rng_seed=0, batch_size=4)
        reference = _numbers(Model(job["reference"]))
    for i, (path, entry) in enumerate(job["cases"]):
        if i < job.get("start", 0):
            continue
        result: dict[str, Any] = {"i": i, "error": None, "message": None, "same": None}
        _peak_reset()
        base = _rss("VmRSS:")
        start = time.perf_counter()
        signal.alarm(TIMEOUT_S)
        try:
            outcome, model = _load(path, entry, scratch)
            result["outcome"] = outcome
            if model is not None and reference is not None:
                got = _numbers(model)
                result["same"] = len(got) == len(reference) and all(
                    a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
                    for a, b in zip(got, reference, strict=True)
                )
        except _Hang:
            result["outcome"] = "hang"
        except NeonTorchError as err:
            result.update(outcome="typed", error=type(err).__name__, message=str(err)[:300])
        except BaseException as err:  # reported: the parent fails the test on it
            result.update(outcome="untyped", error=type(err).__name__, message=str(err)[:300])
        finally:
            signal.alarm(0)
        result["seconds"] = time.perf_counter() - start
        result["peak_mb"] = (_rss("VmHWM:") - base) / 2**20
        result["victim_ok"] = victim.exists() and victim.read_bytes() == victim_bytes
        result["message_lines"] = (result["message"] or "").count("\n") + 1
        print(json.dumps(result), flush=True)
    os._exit(0)  # skip interpreter teardown: only the lines above matter


if __name__ == "__main__":
    main()
