"""Optimizers, schedules, MultiOptimizer, the torch adapter and ``fit`` with torch optimizers.

Expected values come from independent float64 numpy re-implementations of neon 2.6's formulas
(written here from NEON_SEMANTICS §6), from the rate tables in neon's documentation, from the
real-neon fixtures in ``neon_ref/optim``, or from plain ``torch.optim`` runs.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Constant, Gaussian  # noqa: F401 - eval'ed from fixtures
from neon_torch.layers import Affine, GeneralizedCost  # noqa: F401 - eval'ed from fixtures
from neon_torch.models import Model
from neon_torch.optimizers import (
    Adadelta,
    Adagrad,
    Adam,
    ExpSchedule,
    GradientDescentMomentum,
    MultiOptimizer,
    NeonTorchOptimizer,
    PolySchedule,
    PowerSchedule,
    RMSProp,
    Schedule,
    ShiftAdaMax,
    ShiftSchedule,
    StepSchedule,
)
from neon_torch.registry import lookup
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax  # noqa: F401 - eval'ed

from ...conftest import NEON_REF, load_case
from ...helpers.prm import load_prm, parameter_entries, set_weights_from_prm

OPTIM = NEON_REF / "optim"
CASES = sorted(p.stem for p in OPTIM.glob("optim_*.json"))
BSZ = 4


# ---------------------------------------------------------------------------------------------
# float64 numpy references of neon's rules
# ---------------------------------------------------------------------------------------------
def _clip(x: np.ndarray, bound: float | None) -> np.ndarray:
    return np.clip(x, -abs(bound), abs(bound)) if bound else x


def _norm_scale(grads: list[np.ndarray], bsz: int, c: float | None) -> float:
    if not c:
        return 1.0
    norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads)) / bsz
    return c / max(norm, c)


def ref_gdm(o: Any, p, dw, st, lr, s):
    g = _clip(dw, o.gradient_clip_value)
    if o.momentum_coef == 0:
        return (1 - lr * o.wdecay) * p - lr * s * g, []
    g = s * g + o.wdecay * p
    v = o.momentum_coef * (st[0] if st else 0) - lr * g
    new = p + o.momentum_coef * v - lr * g if o.nesterov else p + v
    return _clip(new, o.param_clip_value), [v]


def ref_rmsprop(o: Any, p, dw, st, lr, s):
    g = _clip(dw, o.gradient_clip_value)
    S = o.decay_rate * (st[0] if st else 0) + (1 - o.decay_rate) * g * g
    new = p - s * lr * g / (np.sqrt(S + o.epsilon) + o.epsilon)
    return _clip(new, o.param_clip_value), [S]


def ref_adagrad(o: Any, p, dw, st, lr, s):
    g = _clip(dw, o.gradient_clip_value)
    G = (st[0] if st else 0) + g * g
    return _clip(p - s * lr * g / np.sqrt(G + o.epsilon), o.param_clip_value), [G]


def ref_adadelta(o: Any, p, dw, st, lr, s):
    g = dw
    eg, ex = (st[0], st[1]) if st else (0, 0)
    eg = o.decay * eg + (1 - o.decay) * g * g
    delta = np.sqrt((ex + o.epsilon) / (eg + o.epsilon)) * g
    ex = o.decay * ex + (1 - o.decay) * delta * delta
    return _clip(p - delta, o.param_clip_value), [eg, ex, delta]


def ref_adam(o: Any, p, dw, st, step_size, s):
    g = _clip(dw, o.gradient_clip_value)
    m, v = (st[0], st[1]) if st else (0, 0)
    m = o.beta_1 * m + (1 - o.beta_1) * g
    v = o.beta_2 * v + (1 - o.beta_2) * g * g
    return _clip(p - s * step_size * m / (np.sqrt(v) + o.epsilon), o.param_clip_value), [m, v]


def _ap2(a):
    a = np.asarray(a, dtype=np.float64)
    return np.sign(a) * 2.0 ** np.rint(np.log2(np.maximum(np.abs(a), np.exp(-50.0))))


def ref_shiftadamax(o: Any, p, dw, st, step_size, s):
    g = dw
    m, v = (st[0], st[1]) if st else (0, 0)
    m = o.beta_1 * m + (1 - o.beta_1) * g
    v = np.maximum(o.beta_2 * v, np.abs(g))
    inv = 1.0 / (v + o.epsilon)
    return np.clip(p - m * _ap2(inv) * _ap2(step_size), -1, 1), [m, v, inv]


def _rate(o: Any, step: int, epoch: int) -> float:
    """The host-side step size of update number ``step`` (1-based) in ``epoch``."""
    if isinstance(o, Adam):
        t = step
        return o.learning_rate * math.sqrt(1 - o.beta_2**t) / (1 - o.beta_1**t)
    if isinstance(o, ShiftAdaMax):
        return o.schedule.get_learning_rate(o.learning_rate, epoch) / (1 - o.beta_1 ** (epoch + 1))
    if isinstance(o, Adadelta):
        return 0.0
    if isinstance(o, Adagrad):
        return o.learning_rate
    return o.schedule.get_learning_rate(o.learning_rate, epoch)


RULES = [
    (lambda: GradientDescentMomentum(0.1, 0.9), ref_gdm),
    (lambda: GradientDescentMomentum(0.1, 0.9, nesterov=True, wdecay=0.01), ref_gdm),
    (lambda: GradientDescentMomentum(0.1, 0.0, wdecay=0.05, gradient_clip_norm=0.3), ref_gdm),
    (
        lambda: GradientDescentMomentum(
            0.2,
            0.5,
            gradient_clip_value=0.05,
            gradient_clip_norm=0.2,
            param_clip_value=0.3,
            schedule=Schedule([1], 0.5),
        ),
        ref_gdm,
    ),
    (lambda: RMSProp(learning_rate=0.01), ref_rmsprop),
    (
        lambda: RMSProp(
            learning_rate=0.05,
            decay_rate=0.9,
            gradient_clip_norm=0.1,
            gradient_clip_value=0.04,
            param_clip_value=0.25,
            schedule=ExpSchedule(1.0),
        ),
        ref_rmsprop,
    ),
    (lambda: Adagrad(learning_rate=0.05), ref_adagrad),
    (
        lambda: Adagrad(
            learning_rate=0.1,
            gradient_clip_norm=0.1,
            gradient_clip_value=0.03,
            param_clip_value=0.3,
        ),
        ref_adagrad,
    ),
    (lambda: Adadelta(), ref_adadelta),
    (lambda: Adadelta(decay=0.8, epsilon=1e-4, param_clip_value=0.25), ref_adadelta),
    (lambda: Adam(learning_rate=0.01), ref_adam),
    (
        lambda: Adam(
            learning_rate=0.05,
            beta_1=0.8,
            beta_2=0.99,
            gradient_clip_norm=0.1,
            gradient_clip_value=0.04,
            param_clip_value=0.28,
        ),
        ref_adam,
    ),
    (lambda: ShiftAdaMax(learning_rate=0.01), ref_shiftadamax),
    (lambda: ShiftAdaMax(learning_rate=0.03, schedule=ShiftSchedule(1)), ref_shiftadamax),
]


class FakeLayer:
    """Just what an optimizer reads from a layer: parameters, ``states``, ``name``."""

    def __init__(self, name: str, *arrays: np.ndarray) -> None:
        self.name = name
        self.params = [nn.Parameter(torch.tensor(a)) for a in arrays]
        self.states: list[list[torch.Tensor]] = []

    def optimized_parameters(self) -> list[nn.Parameter]:
        return self.params


class Linear(FakeLayer):
    pass


class Bias(FakeLayer):
    pass


class SpecialBias(Bias):
    pass


@pytest.fixture(autouse=True)
def _backend() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)


@pytest.mark.parametrize("bsz", [4, 6])
@pytest.mark.parametrize(("make", "ref"), RULES, ids=lambda x: getattr(x, "__name__", ""))
def test_rule_matches_float64_reference_over_steps(make: Any, ref: Any, bsz: int) -> None:
    """``dw`` handed to the references is neon's ``dW / bsz``."""
    gen_backend("cpu", rng_seed=0, batch_size=bsz)
    rng = np.random.RandomState(3)
    init = [rng.uniform(-0.3, 0.3, (5, 3)).astype(np.float32), rng.uniform(-0.3, 0.3, (5, 1))]
    init[1] = init[1].astype(np.float32)
    layers = [Linear("L", init[0]), Bias("B", init[1])]
    opt = make()
    params = [a.astype(np.float64) for a in init]
    states: list[list[np.ndarray]] = [[], []]
    for step in range(1, 7):
        epoch = (step - 1) // 2
        grads = [rng.normal(0, 0.2, a.shape).astype(np.float32) for a in init]
        for layer, g in zip(layers, grads, strict=True):
            layer.params[0].grad = torch.from_numpy(g)
        opt.optimize(layers, epoch=epoch)
        clip_norm = getattr(opt, "gradient_clip_norm", None)
        scale = _norm_scale(grads, bsz, clip_norm)
        rate = _rate(opt, step, epoch)
        for i in range(2):
            params[i], states[i] = ref(
                opt, params[i], grads[i].astype(np.float64) / bsz, states[i], rate, scale
            )
            got = layers[i].params[0].detach().numpy()
            np.testing.assert_allclose(got, params[i], rtol=1e-5, atol=1e-7, err_msg=f"step {step}")
            ours = [s.numpy() for s in layers[i].states[0]]
            assert len(ours) == len(states[i])
            for a, b in zip(ours, states[i], strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda: GradientDescentMomentum(0.1, 0.9), ("velocity",)),
        (lambda: GradientDescentMomentum(0.1, 0.0), ()),
        (RMSProp, ("mean_square",)),
        (Adagrad, ("sum_square",)),
        (Adadelta, ("mean_square_grad", "mean_square_delta", "delta")),
        (Adam, ("m", "v")),
        (ShiftAdaMax, ("m", "v", "inv_v")),
    ],
)
def test_states_are_created_lazily_in_neon_order(make: Any, names: tuple[str, ...]) -> None:
    layer = Linear("L", np.zeros((2, 2), np.float32))
    opt = make()
    assert layer.states == []
    layer.params[0].grad = torch.ones(2, 2)
    opt.optimize([layer], epoch=0)
    assert opt.state_names == names
    assert len(layer.states) == 1 and len(layer.states[0]) == len(names)
    assert all(s.shape == (2, 2) for s in layer.states[0])


def test_adam_counts_updates_and_keeps_t_as_attribute() -> None:
    layer = Linear("L", np.zeros((2, 2), np.float32))
    opt = Adam(learning_rate=0.1)
    assert opt.t == 0
    for _ in range(3):
        layer.params[0].grad = torch.ones(2, 2)
        opt.optimize([layer], epoch=0)
    assert opt.t == 3
    assert opt.extra_state() == {"t": 3}
    other = Adam()
    other.load_extra_state({"t": 7})
    assert other.t == 7


def test_gdm_without_momentum_ignores_param_clip_like_neon() -> None:
    layer = Linear("L", np.full((2, 2), 0.5, np.float32))
    layer.params[0].grad = torch.full((2, 2), -4.0 * BSZ)
    GradientDescentMomentum(0.1, 0.0, param_clip_value=0.6).optimize([layer], epoch=0)
    np.testing.assert_allclose(layer.params[0].detach().numpy(), 0.9, rtol=1e-6)
    assert layer.states == [[]]


# ---------------------------------------------------------------------------------------------
# schedules (tables from neon's documentation)
# ---------------------------------------------------------------------------------------------
def _rates(schedule: Any, lr: float, epochs: int) -> list[float]:
    return [schedule.get_learning_rate(lr, e) for e in range(epochs)]


def test_schedule_constant_multiplicative_and_power() -> None:
    assert _rates(Schedule(), 0.3, 4) == [0.3] * 4
    np.testing.assert_allclose(
        _rates(Schedule(step_config=[2, 6], change=0.5), 1.0, 10),
        [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25],
    )
    table = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]
    np.testing.assert_allclose(_rates(PowerSchedule(step_config=2, change=0.5), 0.1, 8), table)
    np.testing.assert_allclose(_rates(Schedule(step_config=2, change=0.5), 0.1, 8), table)


def test_step_schedule_sets_absolute_rates_and_is_stateful() -> None:
    expected = [0.1, 0.05, 0.05, 0.01, 0.01]
    np.testing.assert_allclose(_rates(StepSchedule([1, 3], [0.05, 0.01]), 0.1, 5), expected)
    # neon: the rate is only stored when the listed epoch is visited
    fresh = StepSchedule([1, 3], [0.05, 0.01])
    assert fresh.get_learning_rate(0.1, 4) == 0.1
    assert fresh.get_learning_rate(0.1, 3) == 0.01
    assert fresh.get_learning_rate(0.1, 4) == 0.01
    assert fresh.steps == 0.01
    resumed = StepSchedule([1, 3], [0.05, 0.01])
    resumed.load_extra_state(fresh.extra_state())
    assert resumed.get_learning_rate(0.1, 4) == 0.01


def test_schedule_with_two_lists_behaves_like_step_schedule(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        schedule = Schedule(step_config=[1, 3], change=[0.05, 0.01])
    assert "StepSchedule" in caplog.text
    np.testing.assert_allclose(_rates(schedule, 0.1, 5), [0.1, 0.05, 0.05, 0.01, 0.01])
    assert schedule.extra_state() == {"steps": 0.01}


def test_exp_poly_and_shift_schedules() -> None:
    np.testing.assert_allclose(
        _rates(ExpSchedule(decay=0.5), 0.1, 4), [0.1 / (1 + 0.5 * e) for e in range(4)]
    )
    # neon's floor division: constant until total_epochs, then 0
    assert _rates(PolySchedule(total_epochs=4, power=2.0), 0.1, 10) == [0.1] * 4 + [0.0] * 6
    assert PolySchedule(4, 2.0).get_description()["config"] == {
        "total_epochs": np.float32(4),
        "power": 2.0,
    }
    f32 = float(np.float32(0.1))
    assert _rates(ShiftSchedule(interval=2), 0.1, 5) == [f32, f32, f32 / 2, f32 / 2, f32 / 4]
    assert _rates(ShiftSchedule(3, shift_size=2), 1.0, 7) == [1, 1, 1, 0.25, 0.25, 0.25, 1 / 16]


# ---------------------------------------------------------------------------------------------
# invalid arguments
# ---------------------------------------------------------------------------------------------
BAD = [
    (lambda: GradientDescentMomentum(-0.1, 0.9), "learning_rate.*-0.1"),
    (lambda: GradientDescentMomentum(0.1, 1.0), "momentum_coef.*1.0"),
    (lambda: GradientDescentMomentum(0.1, -0.2), "momentum_coef.*-0.2"),
    (lambda: GradientDescentMomentum(0.1, 0.0, nesterov=True), "nesterov"),
    (lambda: GradientDescentMomentum(0.1, 0.9, wdecay=-1.0), "wdecay.*-1.0"),
    (lambda: GradientDescentMomentum(0.1, 0.9, gradient_clip_norm=-2.0), "gradient_clip_norm"),
    (lambda: GradientDescentMomentum(0.1, 0.9, gradient_clip_value="x"), "gradient_clip_value"),
    (lambda: GradientDescentMomentum(0.1, 0.9, schedule=0.5), "schedule.*0.5"),
    (lambda: RMSProp(decay_rate=1.5), "decay_rate.*1.5"),
    (lambda: RMSProp(learning_rate=-1.0), "learning_rate.*-1.0"),
    (lambda: RMSProp(epsilon=-1e-6), "epsilon"),
    (lambda: Adagrad(learning_rate=float("nan")), "learning_rate.*nan"),
    (lambda: Adagrad(param_clip_value=[1]), "param_clip_value"),
    (lambda: Adadelta(decay=1.0), "decay.*1.0"),
    (lambda: Adam(beta_1=1.0), "beta_1.*1.0"),
    (lambda: Adam(beta_2=-0.1), "beta_2.*-0.1"),
    (lambda: Adam(learning_rate="0.1"), "learning_rate.*'0.1'"),
    (lambda: ShiftAdaMax(beta_1=2), "beta_1.*2"),
    (lambda: ShiftAdaMax(schedule="fast"), "schedule.*fast"),
    (lambda: MultiOptimizer({}), "optimizer_mapping"),
    (lambda: MultiOptimizer({"default": "sgd"}), r"optimizer_mapping\['default'\].*sgd"),
    (lambda: MultiOptimizer({1: Adam()}), "keys.*1"),
    (lambda: Schedule(step_config="abc"), "step_config.*abc"),
    (lambda: Schedule(step_config=0), "step_config.*0"),
    (lambda: Schedule(step_config=[1, -1], change=0.5), r"step_config.*\[1, -1\]"),
    (lambda: Schedule(step_config=[1, 2], change=[0.1]), "same length"),
    (lambda: Schedule(step_config=2, change=[0.1]), r"change.*\[0.1\]"),
    (lambda: StepSchedule([1, 2], [0.1]), "same length"),
    (lambda: StepSchedule(1, 0.1), "step_config.*1"),
    (lambda: PowerSchedule(0, 0.5), "step_config.*0"),
    (lambda: PowerSchedule(2.5, 0.5), "step_config.*2.5"),
    (lambda: PowerSchedule(2, [0.5]), r"change.*\[0.5\]"),
    (lambda: ExpSchedule(-1.0), "decay.*-1.0"),
    (lambda: PolySchedule(0, 2.0), "total_epochs.*0"),
    (lambda: PolySchedule(4, -1.0), "power.*-1.0"),
    (lambda: ShiftSchedule(0), "interval.*0"),
    (lambda: ShiftSchedule(2, "a"), "shift_size.*'a'"),
    (lambda: Adam().as_torch_optimizer([nn.Parameter(torch.zeros(1))], 0), "batch_size.*0"),
    (lambda: Adam().as_torch_optimizer([nn.Parameter(torch.zeros(1))], 2.5), "batch_size.*2.5"),
    (
        lambda: MultiOptimizer({"Linear": Adam()}).as_torch_optimizer(
            [{"params": [nn.Parameter(torch.zeros(1))], "key": "Bias"}], 4
        ),
        "'Bias'.*no 'default'",
    ),
]


@pytest.mark.parametrize(("make", "match"), BAD, ids=[m for _, m in BAD])
def test_invalid_arguments_raise_value_error(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------------------------------------
# MultiOptimizer
# ---------------------------------------------------------------------------------------------
class CountingGDM(GradientDescentMomentum):
    def __init__(self) -> None:
        super().__init__(0.1, 0.9)
        self.calls: list[list[str]] = []

    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        self.calls.append([layer.name for layer in layer_list])
        super().optimize(layer_list, epoch)


def _grad_layers(*layers: FakeLayer) -> list[FakeLayer]:
    for layer in layers:
        layer.params[0].grad = torch.ones_like(layer.params[0])
    return list(layers)


def test_multioptimizer_maps_name_then_exact_class_then_default() -> None:
    default, bias, special = CountingGDM(), CountingGDM(), CountingGDM()
    one = np.zeros((2, 1), np.float32)
    layers = _grad_layers(
        Linear("l0", one), Bias("l0_bias", one), Linear("special", one), SpecialBias("sb", one)
    )
    multi = MultiOptimizer({"default": default, "Bias": bias, "special": special})
    multi.optimize(layers, epoch=0)
    assert default.calls == [["l0", "sb"]]  # SpecialBias is not 'Bias': exact class names only
    assert bias.calls == [["l0_bias"]]
    assert special.calls == [["special"]]
    # name beats class
    by_name = CountingGDM()
    MultiOptimizer({"default": default, "Bias": bias, "l0_bias": by_name}).optimize(layers, 0)
    assert by_name.calls == [["l0_bias"]]


def test_multioptimizer_same_optimizer_under_two_keys_is_called_once() -> None:
    shared = CountingGDM()
    one = np.zeros((2, 1), np.float32)
    layers = _grad_layers(Linear("a", one), Bias("b", one))
    MultiOptimizer({"Linear": shared, "Bias": shared}).optimize(layers, epoch=0)
    assert shared.calls == [["a", "b"]]


def test_multioptimizer_without_default_needs_every_layer_matched() -> None:
    one = np.zeros((2, 1), np.float32)
    layers = _grad_layers(Linear("a", one), Bias("lonely_bias", one))
    MultiOptimizer({"Linear": CountingGDM(), "lonely_bias": CountingGDM()}).optimize(layers, 0)
    with pytest.raises(ValueError, match="lonely_bias"):
        MultiOptimizer({"Linear": CountingGDM()}).optimize(layers, epoch=0)


def test_multioptimizer_advances_adam_once_per_update_and_describes_like_neon() -> None:
    adam = Adam(learning_rate=0.01)
    multi = MultiOptimizer({"default": GradientDescentMomentum(0.1, 0.9), "Bias": adam})
    one = np.zeros((2, 1), np.float32)
    layers = _grad_layers(Linear("a", one), Bias("b", one), Bias("c", one))
    for _ in range(4):
        multi.optimize(layers, epoch=0)
    assert adam.t == 4
    desc = multi.get_description()
    assert set(desc) == {"type", "config"} and set(desc["config"]) == {"optimizer_mapping"}
    assert desc["config"]["optimizer_mapping"]["Bias"] == {
        "type": "neon.optimizers.optimizer.Adam",
        "config": {"learning_rate": 0.01},
    }
    assert multi.extra_state() == {"Bias": {"t": 4}}


@pytest.mark.parametrize(
    "cls",
    [
        Adadelta,
        Adagrad,
        Adam,
        ExpSchedule,
        GradientDescentMomentum,
        MultiOptimizer,
        PolySchedule,
        PowerSchedule,
        RMSProp,
        Schedule,
        ShiftAdaMax,
        ShiftSchedule,
        StepSchedule,
    ],
)
def test_registered_under_both_neon_type_strings(cls: type) -> None:
    assert lookup(f"neon.optimizers.optimizer.{cls.__name__}") is cls
    assert lookup(f"neon.optimizers.{cls.__name__}") is cls


# ---------------------------------------------------------------------------------------------
# the torch adapter, against Model.fit and against neon
# ---------------------------------------------------------------------------------------------
def _fixture_case(case: str) -> tuple[Any, dict, list[dict]]:
    ref, spec = load_case("optim", case)
    return ref, spec, parameter_entries(load_prm(OPTIM / "optim_init.prm"))


def _fit_neon_model(case: str, optimizer: Any, epochs: int | None = None) -> list[np.ndarray]:
    ref, spec, _ = _fixture_case(case)
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    model = Model(eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    set_weights_from_prm(model, load_prm(OPTIM / "optim_init.prm"))
    model.fit(train, cost=cost, optimizer=optimizer, num_epochs=epochs or spec["epochs"])
    return [next(iter(layer.neon_params().values())) for layer in model.layers_to_optimize]


def _torch_net(entries: list[dict]) -> nn.Sequential:
    """Affine(32, Rectlin) -> Affine(10) as plain torch modules holding optim_init's weights."""
    w0, b0, w1, b1 = (e["params"]["W"] for e in entries)
    net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 10))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(w0))
        net[0].bias.copy_(torch.from_numpy(b0.reshape(-1)))
        net[2].weight.copy_(torch.from_numpy(w1))
        net[2].bias.copy_(torch.from_numpy(b1.reshape(-1)))
    return net


def _neon_order(net: nn.Sequential) -> list[torch.Tensor]:
    return [net[0].weight, net[0].bias, net[2].weight, net[2].bias]


def _param_groups(net: nn.Sequential, multi: bool) -> Any:
    if not multi:
        return _neon_order(net)
    return [
        {"params": [net[0].weight, net[2].weight]},
        {"params": [net[0].bias, net[2].bias], "key": "Bias"},
    ]


def _train_torch(
    net: nn.Sequential,
    opt: torch.optim.Optimizer,
    ref: Any,
    bsz: int,
    epochs: tuple[int, int],
    reduction: str = "sum",
) -> None:
    x = torch.from_numpy(ref["X_train"])
    y = torch.from_numpy(ref["y_train"].astype(np.int64))
    for epoch in range(*epochs):
        if isinstance(opt, NeonTorchOptimizer):
            opt.epoch = epoch
        for start in range(0, len(x), bsz):
            opt.zero_grad()
            logits = net(x[start : start + bsz])
            F.cross_entropy(logits, y[start : start + bsz], reduction=reduction).backward()
            opt.step()


def _as_neon(net: nn.Sequential) -> list[np.ndarray]:
    w0, b0, w1, b1 = (p.detach().numpy() for p in _neon_order(net))
    return [w0, b0.reshape(-1, 1), w1, b1.reshape(-1, 1)]


@pytest.mark.parametrize("case", CASES)
def test_torch_adapter_matches_model_fit_and_neon(case: str) -> None:
    ref, spec, entries = _fixture_case(case)
    fitted = _fit_neon_model(case, eval(spec["optimizer_src"]))
    net = _torch_net(entries)
    neon_opt = eval(spec["optimizer_src"])
    groups = _param_groups(net, isinstance(neon_opt, MultiOptimizer))
    adapter = neon_opt.as_torch_optimizer(groups, batch_size=spec["batch_size"])
    assert isinstance(adapter, torch.optim.Optimizer)
    _train_torch(net, adapter, ref, spec["batch_size"], (0, spec["epochs"]))
    for ours, theirs, name in zip(
        _as_neon(net), fitted, spec["optimized_layers_in_order"], strict=True
    ):
        atol = 1e-5 * float(np.abs(theirs).max())
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=atol, err_msg=name)
        expected = ref[f"param_final/{name}/0"]
        atol = 1e-5 * float(np.abs(expected).max())
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=atol, err_msg=name)


def test_adapter_with_a_mean_loss_needs_batch_size_one() -> None:
    ref, _, entries = _fixture_case("optim_rmsprop")
    summed, mean = _torch_net(entries), _torch_net(entries)
    opt_sum = RMSProp(learning_rate=0.01).as_torch_optimizer(summed.parameters(), batch_size=16)
    opt_mean = RMSProp(learning_rate=0.01).as_torch_optimizer(mean.parameters(), batch_size=1)
    _train_torch(summed, opt_sum, ref, 16, (0, 3))
    _train_torch(mean, opt_mean, ref, 16, (0, 3), reduction="mean")
    for a, b in zip(summed.parameters(), mean.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Adam(learning_rate=0.01),
        lambda: GradientDescentMomentum(0.1, 0.9, schedule=StepSchedule([1, 3], [0.05, 0.01])),
        lambda: MultiOptimizer({"default": RMSProp(learning_rate=0.01), "Bias": Adam()}),
        lambda: ShiftAdaMax(learning_rate=0.01, schedule=Schedule([1, 3], [0.02, 0.005])),
    ],
)
def test_adapter_state_dict_resumes_exactly(make: Any) -> None:
    ref, _, entries = _fixture_case("optim_adam")
    multi = isinstance(make(), MultiOptimizer)
    straight = _torch_net(entries)
    opt = make().as_torch_optimizer(_param_groups(straight, multi), batch_size=16)
    _train_torch(straight, opt, ref, 16, (0, 5))

    first = _torch_net(entries)
    opt1 = make().as_torch_optimizer(_param_groups(first, multi), batch_size=16)
    _train_torch(first, opt1, ref, 16, (0, 2))
    saved = opt1.state_dict()
    assert saved["neon"]["epoch"] == 1
    resumed = _torch_net(entries)
    resumed.load_state_dict(first.state_dict())
    opt2 = make().as_torch_optimizer(_param_groups(resumed, multi), batch_size=16)
    opt2.load_state_dict(saved)
    assert opt2.rule.extra_state() == opt1.rule.extra_state()
    _train_torch(resumed, opt2, ref, 16, (2, 5))
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_adapter_state_names_closure_and_missing_grads() -> None:
    w = nn.Parameter(torch.ones(3))
    unused = nn.Parameter(torch.ones(2))
    opt = Adam(learning_rate=0.1).as_torch_optimizer([w, unused], batch_size=2)
    w.grad = torch.full((3,), 2.0)
    loss = opt.step(lambda: torch.tensor(5.0))
    assert float(loss) == 5.0
    assert set(opt.state[w]) == {"m", "v"}
    assert unused not in opt.state
    np.testing.assert_array_equal(unused.detach().numpy(), 1.0)
    # first Adam step: p -= lr * sqrt(1-b2)/(1-b1) * m / (sqrt(v) + eps), g = 2/2 = 1
    step = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9) * 0.1 / (math.sqrt(0.001) + 1e-8)
    np.testing.assert_allclose(w.detach().numpy(), 1.0 - step, rtol=1e-6)
    opt.zero_grad()
    assert w.grad is None


# ---------------------------------------------------------------------------------------------
# Model.fit with a torch optimizer
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "factory",
    [
        functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9),
        functools.partial(torch.optim.AdamW, lr=1e-2, foreach=True),
    ],
    ids=["SGD", "AdamW"],
)
def test_fit_with_torch_optimizer_factory_sees_batch_mean_gradients(factory: Any) -> None:
    ref, spec, entries = _fixture_case("optim_gdm")
    fitted = _fit_neon_model("optim_gdm", factory)
    net = _torch_net(entries)
    _train_torch(net, factory(_neon_order(net)), ref, 16, (0, spec["epochs"]), "mean")
    for ours, theirs in zip(_as_neon(net), fitted, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def test_fit_with_torch_optimizer_continues_state_and_describes_it() -> None:
    ref, spec, entries = _fixture_case("optim_gdm")
    factory = functools.partial(torch.optim.Adam, lr=1e-2)
    gen_backend("cpu", rng_seed=0, batch_size=16)
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=10)
    model = Model(eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    set_weights_from_prm(model, load_prm(OPTIM / "optim_init.prm"))
    model.fit(train, cost=cost, optimizer=factory, num_epochs=2)
    model.fit(train, cost=cost, optimizer=factory, num_epochs=4)
    assert model.optimizer.torch_optimizer.state  # type: ignore[union-attr]
    desc = model.get_description()["optimizer"]
    assert desc["type"] == "torch.optim.adam.Adam" and desc["config"]["lr"] == 1e-2

    net = _torch_net(entries)
    _train_torch(net, factory(_neon_order(net)), ref, 16, (0, 4), "mean")
    got = [next(iter(layer.neon_params().values())) for layer in model.layers_to_optimize]
    for ours, theirs in zip(_as_neon(net), got, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def test_fit_with_torch_optimizer_instance_and_bad_optimizer() -> None:
    ref, spec, _ = _fixture_case("optim_gdm")
    gen_backend("cpu", rng_seed=0, batch_size=16)
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=10)
    model = Model(eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    before = [p.detach().clone() for p in model.module.parameters()]
    sgd = torch.optim.SGD(model.module.parameters(), lr=0.1)
    model.fit(train, cost=cost, optimizer=sgd, num_epochs=1)
    assert model.optimizer.torch_optimizer is sgd  # type: ignore[union-attr]
    after = list(model.module.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    with pytest.raises(TypeError, match="optimizer"):
        model.fit(train, cost=cost, optimizer=42, num_epochs=2)
