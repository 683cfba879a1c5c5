"""gen_backend: names, signature, RNG surface and the options PyTorch ignores."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from neon_torch import NervanaObject
from neon_torch.backends import gen_backend
from neon_torch.errors import BackendError, NeonCompatWarning


def test_signature_and_defaults_are_neons() -> None:
    params = inspect.signature(gen_backend).parameters
    positional = [p for p in params.values() if p.kind != p.KEYWORD_ONLY]
    assert [p.name for p in positional] == [
        "backend", "rng_seed", "datatype", "batch_size", "stochastic_round", "device_id",
        "max_devices", "compat_mode", "deterministic_update", "deterministic",
    ]  # fmt: skip
    # neon_torch's own options are keyword-only, so neon's positional calls keep working
    assert {p.name for p in params.values() if p.kind == p.KEYWORD_ONLY} == {
        "channels_last",
        "cudnn_benchmark",
        "compile",
    }
    assert params["batch_size"].default == 0 and params["datatype"].default is np.float32


@pytest.mark.parametrize("name", ["cpu", "mkl"])
def test_cpu_backends_and_global_handle(name: str) -> None:
    be = gen_backend(name, rng_seed=3, batch_size=16)
    assert NervanaObject.be is be and be.device == torch.device("cpu")
    assert be.bsz == 16 and be.rng_seed == 3 and be.torch_dtype == torch.float32
    first = be.rng.uniform(size=3)
    state = be.rng_get_state()
    second = be.rng.uniform(size=3)
    be.rng_set_state(state)
    assert np.array_equal(be.rng.uniform(size=3), second)
    be.rng_reset()
    assert np.array_equal(be.rng.uniform(size=3), first)
    assert np.array_equal(first, np.random.RandomState(3).uniform(size=3))


def test_unknown_backend_names_the_valid_ones() -> None:
    with pytest.raises(BackendError, match=r"Unknown backend 'tpu'; expected one of \['cpu'"):
        gen_backend("tpu")
    assert issubclass(BackendError, ValueError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_gpu_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="needs CUDA"):
        gen_backend("gpu")


def test_options_without_meaning_warn_instead_of_passing_silently() -> None:
    with pytest.warns(NeonCompatWarning, match="deterministic"):
        gen_backend("cpu", deterministic=True)
