"""Parameter files: neon_torch's safetensors ``.prm`` and neon's legacy pickles.

* :func:`read_file` reads any parameter file (recognised by its bytes) into a normalised
  description with numpy arrays in neon layout; :func:`write_prm` writes our format;
* :mod:`.model_io` implements ``Model.save_params`` / ``load_params`` / ``Model(file)``;
* :mod:`.legacy_pickle` reads the pickles written by neon with its own opcode interpreter;
* :mod:`.build` checks a description against a schema before building its layers.

The format is documented in ``docs/prm_format.md``.
"""

from .files import LoadedFile, read_file, read_raw, sniff
from .prm_file import FORMAT, FORMAT_VERSION, read_prm, write_prm

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LoadedFile",
    "read_file",
    "read_prm",
    "read_raw",
    "sniff",
    "write_prm",
]
