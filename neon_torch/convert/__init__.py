"""Conversion for PyTorch users: neon models and ``.prm`` files as plain torch modules.

>>> # module = neon_torch.convert.to_torch_module("model.prm")   # or Model.to_torch()
>>> # state = neon_torch.convert.to_state_dict("model.prm")      # torch names and layouts
"""

from ._convert import sequence_module, to_state_dict, to_torch_module

__all__ = ["sequence_module", "to_state_dict", "to_torch_module"]
