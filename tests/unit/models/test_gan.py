"""GAN pieces: GANCost's columns and deltas, the GAN loop's bookkeeping, GANCostCallback,
GANPlotCallback, parameter files (the numbers of whole runs are pinned against the real neon
in tests/golden/test_gan.py)."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks, GANCostCallback
from neon_torch.callbacks.plotting_callbacks import GANPlotCallback, _median_filter
from neon_torch.data import ArrayIterator
from neon_torch.errors import ShapeMismatchError
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, GeneralizedGANCost, GenerativeAdversarial, Sequential
from neon_torch.models import GAN
from neon_torch.models.gan import NoGeneratorStepError
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import GANCost, Logistic, Rectlin, Tanh


def _gan(func: str = "modified", **kw) -> tuple[GAN, ArrayIterator, GeneralizedGANCost]:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    generator = Sequential(
        [
            Affine(8, init=Gaussian(scale=0.3), batch_norm=True, activation=Rectlin()),
            Affine(16, init=Gaussian(scale=0.3), activation=Tanh()),
        ]
    )
    last = Logistic() if func != "wasserstein" else None
    discriminator = Sequential(
        [
            Affine(8, init=Gaussian(scale=0.3), activation=Rectlin(slope=0.1)),
            Affine(1, init=Gaussian(scale=0.3), activation=last),
        ]
    )
    model = GAN(GenerativeAdversarial(generator, discriminator), noise_dim=(3,), **kw)
    x = np.tanh(np.random.RandomState(0).randn(24, 16)).astype(np.float32)
    data = ArrayIterator(x, np.zeros(24, dtype=np.int64), nclass=2, lshape=(1, 4, 4))
    return model, data, GeneralizedGANCost(costfunc=GANCost(func=func))


def test_gan_cost_columns_and_deltas() -> None:
    yd, yn = torch.tensor([[0.8], [0.3]]), torch.tensor([[0.4], [0.9]])
    log = torch.log
    mod = GANCost(func="modified", scale=2.0)
    torch.testing.assert_close(mod(yd, yn, "dis"), (-log(yd) - log(1 - yn)).view(-1))
    torch.testing.assert_close(mod(yd, yn, "dis_data"), -log(yd).view(-1))
    torch.testing.assert_close(mod(yd, yn, "dis_noise"), -log(1 - yn).view(-1))
    torch.testing.assert_close(mod(yd, yn, "gen"), log(1 - yn).view(-1))
    torch.testing.assert_close(mod.bprop_noise(yn), 2.0 / (1 - yn))
    torch.testing.assert_close(mod.bprop_data(yd), -2.0 / yd)
    torch.testing.assert_close(mod.bprop_generator(yn), -2.0 / yn)
    orig = GANCost(func="original")
    torch.testing.assert_close(orig(yd, yn, "gen"), -log(yn).view(-1))
    torch.testing.assert_close(orig.bprop_generator(yn), 1.0 / (yn - 1))
    was = GANCost(func="wasserstein")
    torch.testing.assert_close(was(yd, yn, "dis"), (yd - yn).view(-1))
    torch.testing.assert_close(was.bprop_noise(yn), -torch.ones_like(yn))
    torch.testing.assert_close(was.bprop_data(yd), torch.ones_like(yd))
    torch.testing.assert_close(was.bprop_generator(yn), torch.ones_like(yn))
    with pytest.raises(ValueError, match="func"):
        GANCost(func="hinge")
    with pytest.raises(ValueError, match="cost_type"):
        GANCost(cost_type="both")
    with pytest.raises(ShapeMismatchError):
        mod(yd, yn[:1])


def test_generator_steps_every_k_minibatches_and_epoch_cost() -> None:
    model, data, cost = _gan(k=2)
    seen = []

    class Watch(GANCostCallback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            seen.append((model.current_batch, model.gen_iter, model.last_gen_batch))

    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(Watch())
    np.random.seed(0)
    model.fit(data, cost=cost, optimizer=RMSProp(), num_epochs=1, callbacks=callbacks)
    # 6 minibatches: generator steps at minibatches 2 and 4 (never at 0)
    assert seen == [(0, 0, 0), (1, 0, 0), (2, 1, 2), (3, 1, 2), (4, 2, 4), (5, 2, 4)]
    assert math.isfinite(float(model.total_cost[0, 0]))
    assert model.data_batch.shape == (16, 4) and model.noise_batch.shape == (16, 4)


def test_an_epoch_without_generator_step_is_an_error() -> None:
    model, data, cost = _gan(k=50)
    with pytest.raises(NoGeneratorStepError, match="no generator step"):
        model.fit(data, cost=cost, optimizer=RMSProp(), num_epochs=1)


def test_wgan_clips_the_discriminator_and_uniform_noise() -> None:
    model, data, cost = _gan("wasserstein", wgan_param_clamp=0.01, noise_type="uniform")
    model.fit(data, cost=cost, optimizer=RMSProp(learning_rate=1e-4), num_epochs=1)
    assert float(model.z0.abs().max()) <= 1.0 and float(model.z0.min()) < 0
    for layer in model.layers.discriminator.layers_to_optimize():
        # clipped before each discriminator step, then one small RMSProp step at most
        assert float(layer.optimized_parameters()[0].detach().abs().max()) <= 0.01 + 2e-3
    assert model.get_k(0) == 1
    model.wgan_train_sched = True
    assert (model.get_k(0), model.get_k(24), model.get_k(25), model.get_k(500)) == (
        100,
        100,
        1,
        100,
    )


def test_cost_callback_and_plots(tmp_path) -> None:
    model, data, cost = _gan("wasserstein")
    callbacks = Callbacks(model, progress_bar=False, output_file=str(tmp_path / "run.h5"))
    prefix = str(tmp_path / "gan")
    callbacks.add_callback(GANPlotCallback(filename=prefix, hw=4, num_samples=4, sym_range=True))
    callbacks.add_callback(GANCostCallback())
    np.random.seed(0)
    model.fit(data, cost=cost, optimizer=RMSProp(), num_epochs=2, callbacks=callbacks)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        gen_iter, cost_dis = f["gan/gen_iter"][:], f["gan/cost_dis"][:]
        assert f["gan/cost_dis"].attrs["time_markers"] == "minibatch"
    assert gen_iter.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert cost_dis[0] == 0 and np.all(cost_dis[1:] != 0)
    for name in ("data_000", "noise_000", "data_001", "noise_001", "training"):
        assert (tmp_path / f"gan_{name}.png").stat().st_size > 0


def test_median_filter_is_scipys_medfilt() -> None:
    signal = pytest.importorskip("scipy.signal")
    values = np.random.RandomState(0).randn(37)
    np.testing.assert_allclose(_median_filter(values, 7), signal.medfilt(values, 7))


def test_plot_callback_checks_image_size() -> None:
    plot = GANPlotCallback(filename="x", hw=5)
    with pytest.raises(ValueError, match="hw=5"):
        plot._shape_transform(np.zeros((16, 4)))


def test_description_and_parameter_file_round_trip(tmp_path) -> None:
    model, data, cost = _gan()
    np.random.seed(0)
    model.fit(data, cost=cost, optimizer=RMSProp(), num_epochs=1)
    desc = model.get_description()["model"]
    assert desc["type"] == "neon.layers.container.GenerativeAdversarial"
    assert len(desc["config"]["layers"]) == len(model.layers.layers)
    assert "Generator:" in str(model) and "Discriminator:" in str(model)
    plain = model.to_torch()  # the generator, as plain torch modules
    z = model.z0[:2]
    model._set_mode(False)
    with torch.no_grad():
        torch.testing.assert_close(plain(z), model.layers.generator(z))
    model.save_params(str(tmp_path / "gan.prm"))
    again, _, cost2 = _gan()
    again.initialize(data, cost2)
    again.load_params(str(tmp_path / "gan.prm"))
    assert again.epoch_index == 1
    for a, b in zip(model.layers_to_optimize, again.layers_to_optimize, strict=True):
        for key, value in a.neon_params().items():
            np.testing.assert_array_equal(value, b.neon_params()[key])
