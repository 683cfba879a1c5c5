"""neon's Ticker tasks against real neon 2.6 (fixture ticker/ticker.npz, written by
``tests/golden/seq/make_ticker_fixture.py``): the minibatches of CopyTask, RepeatCopyTask and
PrioritySortTask drawn after the same ``np.random.seed``, and the per-minibatch costs of a
seeded two-epoch GRU run on CopyTask (rnn_copy's model at a small size)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import CopyTask, PrioritySortTask, RepeatCopyTask, Ticker
from neon_torch.initializers import Uniform
from neon_torch.layers import GRU, Affine, GeneralizedCostMask
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import CrossEntropyBinary, Logistic, Tanh

FIXTURE = Path(__file__).parents[1] / "data" / "neon_ref" / "ticker" / "ticker.npz"
SEED, BSZ, NBATCHES = 7, 4, 3


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(FIXTURE))


def _neon_layout(a) -> np.ndarray:
    """A batch-first ``(bsz, T, F)`` minibatch in neon's ``(F, T · bsz)`` layout."""
    a = a.detach().cpu().numpy()
    return a.transpose(2, 1, 0).reshape(a.shape[2], -1)


def test_ticker_minibatches_match_neon(ref):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    np.random.seed(SEED)
    tasks = {
        "copy": CopyTask(3, 4),
        "repeat": RepeatCopyTask(2, 2, 3),
        "sort": PrioritySortTask(3, 4),
    }
    for name, task in tasks.items():
        ticker = Ticker(task)
        ticker.nbatches = NBATCHES
        batches = list(ticker)
        assert len(batches) == NBATCHES
        for k, (x, (t, mask)) in enumerate(batches):
            assert x.shape == (BSZ, task.time_steps_max, task.nin)
            for key, got in (("x", x), ("t", t), ("mask", mask)):
                np.testing.assert_allclose(
                    _neon_layout(got), ref[f"{name}/{k}/{key}"], rtol=1e-6, err_msg=key
                )


class _CostTrace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))


def test_copy_task_training_costs_match_neon(ref):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    np.random.seed(SEED)
    train = Ticker(CopyTask(3, 4))
    train.nbatches = 6
    init = Uniform(low=-0.08, high=0.08)
    model = Model(
        layers=[
            GRU(10, init, activation=Tanh(), gate_activation=Logistic()),
            Affine(train.nout, init, bias=init, activation=Logistic()),
        ]
    )
    callbacks = Callbacks(model)
    trace = _CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(gradient_clip_value=5),
        num_epochs=2,
        cost=GeneralizedCostMask(costfunc=CrossEntropyBinary()),
        callbacks=callbacks,
    )
    np.testing.assert_allclose(trace.costs, ref["train/cost"], rtol=1e-4)
