"""Writing a converted model to disk: PyTorch state dicts and ``torch.export`` programs.

Used by ``neon-torch convert``; callable from Python as well::

    from neon_torch.convert import to_torch_module
    from neon_torch.convert.export import save_module
    model = Model("model.prm")
    save_module(to_torch_module(model), model.layers.in_shape, "model.pt2")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import layout
from ..errors import PrmFormatError, UnsupportedNeonFeature
from ..serialization._atomic import atomic_write

__all__ = ["MODULE_SUFFIXES", "export_program", "save_module"]

#: output suffixes :func:`save_module` writes
MODULE_SUFFIXES = (".pt", ".safetensors", ".pt2")


def export_program(
    module: nn.Module, in_shape: Any, batch_size: int | None = None
) -> torch.export.ExportedProgram:
    """``torch.export`` program of ``module``: batch dimension dynamic, or ``batch_size``.

    ``in_shape``: neon's per-sample input shape (``model.layers.in_shape``), a list of them for
    a model that reads several streams (the program then takes a list of tensors). Inputs are
    batch-first; neon's ``(F, T)`` sequences are ``(N, T, F)``.

    Raises:
        UnsupportedNeonFeature: the model cannot keep the batch dimension symbolic (export it
            for one ``batch_size`` instead).
    """
    streams = in_shape if isinstance(in_shape, list) else [in_shape]
    dtype = next(module.parameters()).dtype
    size = batch_size or 2  # an example of 1 would make torch specialize the batch to 1
    examples = [
        torch.zeros((size, *layout.batch_first_sample_dims(s)), dtype=dtype) for s in streams
    ]
    inputs = (examples,) if isinstance(in_shape, list) else (examples[0],)
    if batch_size is not None:
        return torch.export.export(module, inputs)
    batch = torch.export.Dim("batch", min=1)
    per_input = [{0: batch} for _ in examples]
    dynamic = (per_input,) if isinstance(in_shape, list) else (per_input[0],)
    try:
        return torch.export.export(module, inputs, dynamic_shapes=dynamic)
    except Exception as exc:  # torch raises several kinds for a batch it cannot keep symbolic
        raise UnsupportedNeonFeature(
            f"this model cannot be exported for any batch size ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); pass --batch-size N to export it "
            "for batch size N only."
        ) from exc


def save_module(
    module: nn.Module,
    in_shape: Any,
    out: str | os.PathLike[str],
    batch_size: int | None = None,
    source_name: str = "",
) -> None:
    """Write ``module`` to ``out``, its suffix choosing the format (atomically: a failed write
    leaves no file): ``.pt`` (state dict, ``torch.save``), ``.safetensors`` (the same state
    dict; ``source_name`` goes into its metadata) or ``.pt2`` (:func:`export_program`)."""
    out = Path(out)
    if out.suffix not in MODULE_SUFFIXES:
        raise PrmFormatError(
            f"{out}: unknown output suffix {out.suffix!r}; use one of {', '.join(MODULE_SUFFIXES)}."
        )
    if out.suffix == ".pt2":
        program = export_program(module, in_shape, batch_size)
        with atomic_write(out) as f:
            torch.export.save(program, f)
        return
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    if out.suffix == ".safetensors":
        from safetensors.torch import save

        data = save(state, metadata={"source": source_name})
        with atomic_write(out) as f:
            f.write(data)
    else:
        with atomic_write(out) as f:
            torch.save(state, f)
