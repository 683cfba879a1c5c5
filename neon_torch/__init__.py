"""neon_torch: Intel Nervana neon 2.6's API and numbers on PyTorch.

Porting a neon script means renaming ``neon.`` to ``neon_torch.`` in its imports::

    from neon_torch.backends import gen_backend
    from neon_torch.data import ArrayIterator
    from neon_torch.layers import Affine, GeneralizedCost
    from neon_torch.models import Model
"""

from ._object import NervanaObject
from ._version import NEON_VERSION, __version__
from .backends import gen_backend
from .errors import NeonTorchError
from .models import Model

__all__ = ["NEON_VERSION", "Model", "NeonTorchError", "NervanaObject", "__version__", "gen_backend"]
