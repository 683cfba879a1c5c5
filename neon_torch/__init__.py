"""neon_torch: Intel Nervana neon 2.6's API and numbers on PyTorch.

Porting a neon script means renaming ``neon.`` to ``neon_torch.`` in its imports::

    from neon_torch.backends import gen_backend
    from neon_torch.data import ArrayIterator
    from neon_torch.layers import Affine, GeneralizedCost
    from neon_torch.models import Model
"""

# Every package that registers neon types is imported here, so that the registry is complete
# whenever any part of neon_torch is in use (a description or a legacy file is resolved
# against it); these are fixed imports, never names read from a file.
from . import callbacks, data, initializers, layers, models, optimizers, transforms  # noqa: F401
from ._version import NEON_VERSION, __version__
from .backends import gen_backend
from .backends.backend import NervanaObject
from .errors import NeonTorchError
from .models import Model

__all__ = ["NEON_VERSION", "Model", "NeonTorchError", "NervanaObject", "__version__", "gen_backend"]
