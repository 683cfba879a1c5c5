"""The package type-checks under the project's mypy configuration, and the structural types in
``neon_torch._types`` accept neon_torch's own classes (and refuse objects missing a method)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neon_torch._types import (
    CallbackLike,
    CallbacksLike,
    CostFunctionLike,
    CostLike,
    DataIteratorLike,
    MetricLike,
    OptimizerLike,
)
from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback
from neon_torch.data import ArrayIterator
from neon_torch.layers import GeneralizedCost
from neon_torch.optimizers import Adam, GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Misclassification

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason="mypy is not installed (test extra)"
)
def test_package_passes_mypy_with_project_config(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(  # pyproject's [tool.mypy]: the package, check_untyped_defs, ...
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Success: no issues found" in run.stdout


def test_neon_torch_classes_satisfy_the_protocols() -> None:
    gen_backend(backend="cpu", batch_size=4)
    data = ArrayIterator(np.zeros((8, 3), np.float32), np.zeros(8, np.int64), nclass=2)
    assert isinstance(data, DataIteratorLike)
    assert isinstance(GeneralizedCost(costfunc=CrossEntropyMulti()), CostLike)
    assert isinstance(CrossEntropyMulti(), CostFunctionLike)
    assert isinstance(Misclassification(), MetricLike)
    assert isinstance(GradientDescentMomentum(0.1, momentum_coef=0.9), OptimizerLike)
    assert isinstance(Adam(), OptimizerLike)

    class Printer(Callback):
        def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
            pass

    assert isinstance(Printer(), CallbackLike)
    from neon_torch.callbacks import Callbacks
    from neon_torch.initializers import Gaussian
    from neon_torch.layers import Affine
    from neon_torch.models import Model

    assert isinstance(Callbacks(Model([Affine(2, init=Gaussian())])), CallbacksLike)
    assert not isinstance(Printer(), CallbacksLike)  # a callback is not the container


def test_objects_missing_a_method_do_not_satisfy_the_protocols() -> None:
    class NoReset:  # iterable with sizes, but no reset()
        ndata = 8
        nbatches = 2

        def __iter__(self) -> Any:
            return iter([])

    class CostWithoutErrors:
        def initialize(self, in_obj: Any) -> None: ...
        def batch_cost(self, y: Any, t: Any) -> Any: ...
        def get_cost(self, y: Any, t: Any) -> Any: ...

    class HalfCallback:
        epoch_freq = 1
        minibatch_freq = 1

        def on_epoch_end(self, callback_data: Any, model: Any, epoch: int) -> None: ...

    assert not isinstance(NoReset(), DataIteratorLike)
    assert not isinstance(CostWithoutErrors(), CostLike)
    assert not isinstance(HalfCallback(), CallbackLike)
    assert not isinstance(object(), OptimizerLike)
    assert not isinstance([(1, 2)], DataIteratorLike)  # a plain iterable is a Dataset only
