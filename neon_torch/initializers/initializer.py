"""neon's initializers, drawing from the backend's numpy stream exactly as neon's CPU backend.

Every initializer fills a 2-D array **in neon layout** (the shape neon's layer hands to
``fill``; see each layer's docstring), drawing float64 values from ``be.rng`` in C order and
casting them to the parameter's dtype. With the same seed and the same allocation order the
values are bit-identical to neon 2.6's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..backends.backend import NervanaObject, current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..registry import neon_type

__all__ = [
    "Array",
    "Constant",
    "Gaussian",
    "GlorotUniform",
    "IdentityInit",
    "Initializer",
    "Kaiming",
    "Orthonormal",
    "Uniform",
    "Xavier",
]

_MODULE = "neon.initializers.initializer"


class Initializer(NervanaObject):
    """Base class: ``fill(param)`` overwrites ``param`` (numpy array or torch tensor) in place."""

    def fill(self, param: np.ndarray | torch.Tensor) -> None:
        """Fill ``param`` (neon layout, 2-D) in place."""
        values = self.generate(tuple(param.shape), current_backend().rng)
        if isinstance(param, torch.Tensor):
            with torch.no_grad():
                param.copy_(torch.as_tensor(values, dtype=param.dtype))
        else:
            param[...] = values

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        """Values for a parameter of neon-layout ``shape`` (float64 or the given array)."""
        raise NotImplementedError


@neon_type(f"{_MODULE}.Constant", "neon.initializers.Constant")
class Constant(Initializer):
    """All values ``val`` (a scalar, or an array of the parameter's shape). Draws nothing."""

    def __init__(self, val: Any = 0.0, name: str = "constantInit") -> None:
        super().__init__(name)
        self.val = val

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.val, dtype=np.float64), shape)


@neon_type(f"{_MODULE}.Array", "neon.initializers.Array")
class Array(Constant):
    """``Constant`` with an array ``val`` of the parameter's exact shape (a numpy array, a
    backend Tensor such as ``be.array(...)``, or a torch tensor). Its description stores
    ``val`` as a numpy array, as neon's does."""

    def __init__(self, val: Any = 0.0, name: str = "constantInit") -> None:
        super().__init__(val, name)

    def get_description(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """neon's description, with a tensor ``val`` read back into a numpy array."""
        desc = super().get_description((*skip, "val"))
        if "val" in skip:
            return desc
        value = self.val
        if isinstance(value, NeonTensor):
            value = value.get()
        elif isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray) or value != 0.0:
            desc["config"]["val"] = value
        return desc


@neon_type(f"{_MODULE}.Uniform", "neon.initializers.Uniform")
class Uniform(Initializer):
    """``rng.uniform(low, high, shape)``."""

    def __init__(self, low: float = 0.0, high: float = 1.0, name: str = "uniformInit") -> None:
        super().__init__(name)
        self.low = low
        self.high = high

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        return rng.uniform(self.low, self.high, shape)


@neon_type(f"{_MODULE}.Gaussian", "neon.initializers.Gaussian")
class Gaussian(Initializer):
    """``rng.normal(loc, scale, shape)`` (``scale`` is the standard deviation)."""

    def __init__(self, loc: float = 0.0, scale: float = 1.0, name: str = "gaussianInit") -> None:
        super().__init__(name)
        self.loc = loc
        self.scale = scale

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        return rng.normal(self.loc, self.scale, shape)


@neon_type(f"{_MODULE}.GlorotUniform", "neon.initializers.GlorotUniform")
class GlorotUniform(Initializer):
    """Uniform in ``±sqrt(6 / (shape[0] + shape[1]))``."""

    def __init__(self, name: str = "autouniformInit") -> None:
        super().__init__(name)

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        k = np.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-k, k, shape)


def _fan(shape: tuple[int, ...], local: bool) -> int:
    # neon: "local" means the fan is shape[0] of the neon-layout matrix (nout for Linear,
    # C·R·S for Convolution); otherwise shape[1].
    return shape[0] if local else shape[1]


@neon_type(f"{_MODULE}.Xavier", "neon.initializers.Xavier")
class Xavier(Initializer):
    """Uniform in ``±sqrt(3 / fan)``, ``fan = shape[0] if local else shape[1]``."""

    def __init__(self, local: bool = True, name: str = "xavier") -> None:
        super().__init__(name)
        self.local = local

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        k = np.sqrt(3.0 / _fan(shape, self.local))
        return rng.uniform(-k, k, shape)


@neon_type(f"{_MODULE}.Kaiming", "neon.initializers.Kaiming")
class Kaiming(Initializer):
    """Normal with std ``sqrt(2 / fan)``, ``fan = shape[0] if local else shape[1]``."""

    def __init__(self, local: bool = True, name: str = "Kaiming") -> None:
        super().__init__(name)
        self.local = local

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        return rng.normal(0.0, np.sqrt(2.0 / _fan(shape, self.local)), shape)


@neon_type(f"{_MODULE}.IdentityInit", "neon.initializers.IdentityInit")
class IdentityInit(Initializer):
    """Zeros with an identity block: ``W[:, :shape[0]] = I`` (needs ``shape[1] >= shape[0]``).

    neon semantics: a layer whose initializer is named ``"Identity"`` (this one's default name)
    is never optimized (``Model.layers_to_optimize`` skips it).
    """

    def __init__(self, local: bool = True, name: str = "Identity") -> None:
        super().__init__(name)
        self.local = local

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        rows, cols = shape[0], int(np.prod(shape[1:]))
        if cols < rows:
            raise ValueError(
                f"IdentityInit needs shape[1] >= shape[0] in neon layout, got {shape}."
            )
        values = np.zeros((rows, cols))
        values[:, :rows] = np.eye(rows)
        return values.reshape(shape)


@neon_type(f"{_MODULE}.Orthonormal", "neon.initializers.Orthonormal")
class Orthonormal(Initializer):
    """``scale`` times an orthonormal factor of a Gaussian matrix.

    neon semantics: the Gaussian comes from numpy's **global** generator (``np.random``), not
    from ``be.rng``; ``u`` of its SVD is used when it has the parameter's shape, else ``v``.
    """

    def __init__(self, scale: float = 1.1, name: str = "orthonormal") -> None:
        super().__init__(name)
        self.scale = scale

    def generate(self, shape: tuple[int, ...], rng: np.random.RandomState) -> np.ndarray:
        flat = (shape[0], int(np.prod(shape[1:])))
        a = np.random.normal(0.0, 1.0, flat)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat else v
        return (self.scale * q).reshape(shape)
