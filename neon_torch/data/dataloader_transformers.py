"""neon's ``DataLoaderAdapter`` and data-loader transformers, producing batch-first tensors.

neon turned aeon's numpy buffers into backend tensors in neon's layout ``(features, N)`` and
its transformers worked on those. Here every minibatch stays batch-first, as the rest of
neon_torch expects: images ``(N, C, H, W)``, labels ``(N, 1)``, one-hot targets
``(N, nclasses)``, placed on the backend's device. The constructors and the chaining are
neon's: each transformer wraps a loader, rewrites element ``index`` of every minibatch tuple
(or the whole tuple when ``index`` is None) and hands every other attribute (``ndata``,
``nbatches``, ``shape``, ``axes_info``, ...) to the loader it wraps.
"""

from __future__ import annotations

import os
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..backends.backend import current_backend
from ..errors import ShapeMismatchError
from .dataiterator import LabelError, NervanaDataIterator

__all__ = [
    "BGRMeanSubtract",
    "DataLoaderAdapter",
    "DataLoaderTransformer",
    "DumpImage",
    "OneHot",
    "PixelWiseOneHot",
    "Retuple",
    "TypeCast",
    "ValueNormalize",
]


def _torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.zeros(0, dtype=np.dtype(dtype))).dtype


class DataLoaderTransformer(NervanaDataIterator):
    """Base of neon's loader transformers: wraps ``dataloader``; ``transform`` rewrites element
    ``index`` of each minibatch (the whole minibatch when ``index`` is None).

    Unknown attributes are looked up on the wrapped loader, and ``nbatches``/``reset()`` are
    the wrapped loader's, so a chain of transformers reads like the loader itself.
    """

    def __init__(self, dataloader: Any, index: int | None = None) -> None:
        super().__init__()
        self.dataloader = dataloader
        self.index = index

    def __getattr__(self, key: str) -> Any:
        if key == "dataloader":  # not set yet (construction or unpickling)
            raise AttributeError(key)
        return getattr(self.dataloader, key)

    @property  # type: ignore[misc]  # computed here, never assigned
    def nbatches(self) -> int:
        """The wrapped loader's minibatches per epoch."""
        return self.dataloader.nbatches

    def reset(self) -> None:
        """Reset the wrapped loader."""
        self.dataloader.reset()

    def __iter__(self) -> Iterator[Any]:
        for tup in self.dataloader:
            if self.index is None:
                yield self.transform(tup)
                continue
            out = list(tup)
            out[self.index] = self.transform(tup[self.index])
            yield out

    def transform(self, t: Any) -> Any:
        """Rewrite one element (or the whole minibatch); subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define transform().")


class DataLoaderAdapter(DataLoaderTransformer):
    """neon's adapter from aeon's ``((name, array), ...)`` minibatches to a tuple of tensors on
    the backend's device, in the order of aeon's buffers (``axes_info``).

    neon semantics: ``shape`` is the first buffer's per-sample shape (e.g. ``(3, H, W)``);
    ``nbatches = ceil(ndata / be.bsz)``; ``audio_length`` buffers become the percentage of the
    audio etl's ``max_duration`` (uint8); ``char_map`` buffers keep their non-zero entries as
    one ``(1, n)`` row. Every minibatch must hold ``be.bsz`` samples.

    neon_torch: tensors stay batch-first ``(N, *shape)`` instead of neon's ``(features, N)``;
    uint32 buffers (aeon's labels) become int64, the integer type torch indexes with.
    """

    def __init__(self, dataloader: Any) -> None:
        super().__init__(dataloader, None)
        self.shape = self.shapes()[0]
        self.outputs: OrderedDict[str, Tensor] = OrderedDict()
        self.max_duration: float | None = None
        for conf in self.dataloader.config.get("etl", []):
            if conf.get("type") == "audio":
                amount, unit = str(conf["max_duration"]).split()[:2]
                rate = float(conf.get("sample_freq_hz", 16000))
                per_unit = {"samples": 1.0, "seconds": rate, "milliseconds": rate / 1000.0}
                if unit not in per_unit:
                    from .aeon._config import AeonConfigError  # the aeon package imports this one

                    raise AeonConfigError(
                        f"audio max_duration {conf['max_duration']!r} has unit {unit!r}; "
                        "expected samples, seconds or milliseconds."
                    )
                self.max_duration = float(amount) * per_unit[unit]

    def _bsz(self) -> int:
        bsz = current_backend().bsz
        return bsz if bsz > 0 else int(self.dataloader.batch_size)

    @property  # type: ignore[misc]  # computed here, never assigned
    def nbatches(self) -> int:
        """``ceil(ndata / be.bsz)``."""
        return -(-int(self.dataloader.ndata) // self._bsz())

    def transform(self, t: Any) -> tuple[Tensor, ...]:
        """aeon's ``((name, array), ...)`` -> tensors on the backend's device."""
        be = current_backend()
        bsz = self._bsz()
        for key, value in t:
            if value.shape[0] != bsz:
                raise ShapeMismatchError(
                    f"aeon buffer {key!r} holds {value.shape[0]} samples, expected be.bsz={bsz}; "
                    "give aeon the backend's batch_size."
                )
            x = torch.as_tensor(np.asarray(value))
            if key.endswith("audio_length") and self.max_duration:
                x = (x.double() / self.max_duration * 100).to(torch.uint8)
            if key.endswith("char_map"):
                x = x[x != 0].reshape(1, -1)
            if x.dtype == torch.uint32:
                x = x.to(torch.int64)
            self.outputs[key] = x.to(be.device, non_blocking=True)
        return tuple(self.outputs.values())

    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-sample shape of each buffer, from ``axes_info``."""
        return tuple(tuple(int(n) for _, n in axes) for _, axes in self.dataloader.axes_info)


class OneHot(DataLoaderTransformer):
    """Integer labels ``(N, 1)`` at ``index`` -> one-hot ``(N, nclasses)`` in the backend's
    float type (neon: ``(nclasses, N)``)."""

    def __init__(
        self, dataloader: Any, index: int, nclasses: int, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(dataloader, index, *args, **kwargs)
        self.nclasses = int(nclasses)

    def transform(self, t: Tensor) -> Tensor:
        labels = t.reshape(t.shape[0], -1)[:, 0].long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.nclasses):
            raise LabelError(
                f"OneHot: labels span [{int(labels.min())}, {int(labels.max())}], expected "
                f"[0, {self.nclasses - 1}] (nclasses={self.nclasses}); fix nclasses or the labels."
            )
        out = torch.nn.functional.one_hot(labels, self.nclasses)
        return out.to(current_backend().torch_dtype)


class PixelWiseOneHot(DataLoaderTransformer):
    """Per-pixel labels ``(N, 1, H, W)`` (or ``(N, P)``) at ``index`` -> int32 one-hot
    ``(N, nclasses, H, W)`` (or ``(N, nclasses, P)``): class-major within each sample, as
    neon's ``(nclasses * P, N)`` buffer."""

    def __init__(
        self, dataloader: Any, index: int, nclasses: int, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(dataloader, index, *args, **kwargs)
        self.nclasses = int(nclasses)

    def transform(self, t: Tensor) -> Tensor:
        spatial = tuple(t.shape[2:]) if t.dim() == 4 and t.shape[1] == 1 else (-1,)
        flat = t.reshape(t.shape[0], -1).long()
        out = torch.nn.functional.one_hot(flat, self.nclasses).permute(0, 2, 1)
        return out.reshape(t.shape[0], self.nclasses, *spatial).to(torch.int32).contiguous()


class TypeCast(DataLoaderTransformer):
    """Element ``index`` converted to ``dtype`` (a numpy or torch dtype), on the device."""

    def __init__(self, dataloader: Any, index: int, dtype: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(dataloader, index=index, *args, **kwargs)  # type: ignore[misc]  # noqa: B026 - neon's call form
        self.dtype = _torch_dtype(dtype)

    def transform(self, t: Tensor) -> Tensor:
        return t.to(device=current_backend().device, dtype=self.dtype)


class Retuple(DataLoaderTransformer):
    """Minibatches regrouped as ``(data, target)``: elements ``data`` and ``target`` (a single
    index gives the element itself, several give a tuple)."""

    def __init__(
        self,
        dataloader: Any,
        data: Sequence[int] = (0,),
        target: Sequence[int] = (1,),
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataloader, index=None, *args, **kwargs)  # type: ignore[misc]  # noqa: B026 - neon's call form
        self._data = tuple(data)
        self._target = tuple(target)

    def transform(self, t: Any) -> tuple[Any, Any]:
        def pick(idx: tuple[int, ...]) -> Any:
            return tuple(t[i] for i in idx) if len(idx) > 1 else t[idx[0]]

        return pick(self._data), pick(self._target)


def _float_input(name: str, t: Tensor) -> None:
    if not t.is_floating_point():
        raise ShapeMismatchError(
            f"{name} received a {t.dtype} tensor; expected floats. Put TypeCast(dl, index, "
            "np.float32) before it, as neon's example scripts do."
        )


class BGRMeanSubtract(DataLoaderTransformer):
    """Subtract ``pixel_mean`` (B, G, R) from element ``index``: each sample's features split
    into three equal runs (the channel planes of ``(3, H, W)``), one mean per run, as neon's
    ``reshape((3, -1))`` of its channel-major buffer. The input must be floating point."""

    def __init__(
        self,
        dataloader: Any,
        index: int,
        pixel_mean: Sequence[float] = (127, 119, 104),
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataloader, index=index, *args, **kwargs)  # type: ignore[misc]  # noqa: B026 - neon's call form
        self.pixel_mean = np.asarray(pixel_mean, dtype=np.float64)

    def transform(self, t: Tensor) -> Tensor:
        _float_input("BGRMeanSubtract", t)
        mean = torch.as_tensor(self.pixel_mean, dtype=t.dtype, device=t.device)
        t.view(t.shape[0], len(self.pixel_mean), -1).sub_(mean[None, :, None])  # in place, as neon
        return t


class ValueNormalize(DataLoaderTransformer):
    """Map element ``index`` linearly from ``source_range`` to ``target_range``:
    ``(x - smin) / (smax - smin) * (tmax - tmin) + tmin``. The input must be floating point."""

    def __init__(
        self,
        dataloader: Any,
        index: int,
        source_range: Sequence[float] = (0.0, 255.0),
        target_range: Sequence[float] = (0.0, 1.0),
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataloader, index=index, *args, **kwargs)  # type: ignore[misc]  # noqa: B026 - neon's call form
        self.xmin, xmax = (float(v) for v in source_range)
        self.ymin, ymax = (float(v) for v in target_range)
        self.xspan, self.yspan = xmax - self.xmin, ymax - self.ymin

    def transform(self, t: Tensor) -> Tensor:
        _float_input("ValueNormalize", t)
        return t.sub_(self.xmin).mul_(self.yspan / self.xspan).add_(self.ymin)  # in place, as neon


class DumpImage(DataLoaderTransformer):
    """Write sample ``image_index`` of element ``index`` (channel-major BGR, ``outshape``
    ``(C, H, W)``) to a randomly named PNG in ``output_directory`` (default ``/tmp``) and pass
    the minibatch on unchanged; a one-channel image is written as grey RGB. Needs Pillow."""

    def __init__(
        self,
        dataloader: Any,
        index: int,
        image_index: int,
        outshape: Sequence[int],
        output_directory: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataloader, index=index, *args, **kwargs)  # type: ignore[misc]  # noqa: B026 - neon's call form
        self.image_index = int(image_index)
        self.outshape = tuple(int(v) for v in outshape)
        self.output_directory = output_directory or "/tmp"

    def filename(self) -> str:
        """A new random ``.png`` path in ``output_directory``."""
        return os.path.join(self.output_directory, f"{uuid.uuid4().hex}.png")

    def transform(self, t: Tensor) -> Tensor:
        from .aeon._config import import_decoder

        image = import_decoder("PIL.Image", "image")
        a = t[self.image_index].detach().cpu().numpy().reshape(self.outshape)
        if self.outshape[0] == 1:
            a = np.repeat(a, 3, axis=0)
        rgb = np.ascontiguousarray(a.transpose(1, 2, 0)[:, :, ::-1]).astype(np.uint8)
        image.fromarray(rgb).save(self.filename())
        return t
