"""neon's DataLoaderAdapter and dataloader transformers on a stand-in aeon loader; expected
values computed with numpy from neon's definitions, in neon_torch's batch-first layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neon_torch.backends import gen_backend
from neon_torch.data.dataiterator import LabelError
from neon_torch.data.dataloader_transformers import (
    BGRMeanSubtract,
    DataLoaderAdapter,
    DataLoaderTransformer,
    DumpImage,
    OneHot,
    PixelWiseOneHot,
    Retuple,
    TypeCast,
    ValueNormalize,
)
from neon_torch.errors import ShapeMismatchError


class FakeAeon:
    """What the adapter reads from aeon: config, ndata, batch_size, axes_info, iteration."""

    def __init__(self, batches: list[tuple[tuple[str, np.ndarray], ...]], ndata: int) -> None:
        self.batches = batches
        self.ndata = ndata
        self.batch_size = len(batches[0][0][1])
        self.config = {"etl": [{"type": "image"}, {"type": "label"}]}
        self.axes_info = tuple(
            (name, tuple((str(i), n) for i, n in enumerate(a.shape[1:]))) for name, a in batches[0]
        )
        self.resets = 0

    def __iter__(self) -> Iterator[tuple[tuple[str, np.ndarray], ...]]:
        return iter(self.batches)

    def reset(self) -> None:
        self.resets += 1


def _fake(n_batches: int = 2, bs: int = 2) -> tuple[FakeAeon, list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (bs, 3, 4, 5), dtype=np.uint8) for _ in range(n_batches)]
    labels = [rng.integers(0, 3, (bs, 1)).astype(np.uint32) for _ in range(n_batches)]
    batches = [(("image", i), ("label", lab)) for i, lab in zip(imgs, labels, strict=True)]
    return FakeAeon(batches, ndata=n_batches * bs - 1), imgs, labels


@pytest.fixture(autouse=True)
def _backend() -> None:
    gen_backend("cpu", batch_size=2)


def test_adapter_shapes_nbatches_and_tensors() -> None:
    fake, imgs, labels = _fake()
    dl = DataLoaderAdapter(fake)
    assert dl.shape == (3, 4, 5) and dl.shapes() == ((3, 4, 5), (1,))
    assert dl.nbatches == 2  # ceil(3 / 2)
    x, y = next(iter(dl))
    assert x.dtype == torch.uint8 and tuple(x.shape) == (2, 3, 4, 5)
    np.testing.assert_array_equal(x.numpy(), imgs[0])
    assert y.dtype == torch.int64 and y.numpy().tolist() == labels[0].tolist()
    dl.reset()
    assert fake.resets == 1 and dl.ndata == 3  # reset and attributes reach the loader


def test_adapter_checks_batch_size() -> None:
    gen_backend("cpu", batch_size=4)
    with pytest.raises(ShapeMismatchError, match=r"be\.bsz=4"):
        next(iter(DataLoaderAdapter(_fake()[0])))


def test_onehot_typecast_bgr_mean_value_normalize() -> None:
    fake, imgs, labels = _fake()
    dl = OneHot(DataLoaderAdapter(fake), index=1, nclasses=3)
    dl = TypeCast(dl, index=0, dtype=np.float32)
    dl = BGRMeanSubtract(dl, index=0, pixel_mean=[10, 20, 30])
    out = list(dl)
    assert len(out) == 2 and dl.nbatches == 2 and dl.shape == (3, 4, 5)
    for (x, t), img, lab in zip(out, imgs, labels, strict=True):
        assert x.dtype == torch.float32
        expected = img.astype(np.float32) - np.array([10, 20, 30], np.float32)[:, None, None]
        np.testing.assert_array_equal(x.numpy(), expected)
        np.testing.assert_array_equal(t.numpy(), np.eye(3)[lab[:, 0]])
    norm = ValueNormalize(TypeCast(DataLoaderAdapter(fake), 0, np.float32), 0, [0, 255], [-1, 1])
    x, _ = next(iter(norm))
    np.testing.assert_allclose(x.numpy(), imgs[0] / 255.0 * 2 - 1, atol=1e-6)


def test_float_only_transformers_refuse_uint8() -> None:
    with pytest.raises(ShapeMismatchError, match="TypeCast"):
        next(iter(BGRMeanSubtract(DataLoaderAdapter(_fake()[0]), index=0)))


def test_onehot_label_range() -> None:
    with pytest.raises(LabelError, match="nclasses=2"):
        fake, _, _ = _fake()
        fake.batches[0][1][1][:] = 2
        next(iter(OneHot(DataLoaderAdapter(fake), index=1, nclasses=2)))


def test_pixelwise_onehot() -> None:
    masks = np.array([[[[0, 2], [1, 1]]], [[[2, 2], [0, 1]]]], dtype=np.uint8)  # (2, 1, 2, 2)
    fake = FakeAeon([(("image", masks), ("pixelmask", masks))], ndata=2)
    out = next(iter(PixelWiseOneHot(DataLoaderAdapter(fake), index=1, nclasses=3)))[1]
    assert out.dtype == torch.int32 and tuple(out.shape) == (2, 3, 2, 2)
    expected = (masks[:, 0][:, None] == np.arange(3)[None, :, None, None]).astype(np.int32)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_retuple_and_base() -> None:
    fake = FakeAeon(
        [(("a", np.zeros((2, 1))), ("b", np.ones((2, 1))), ("c", np.full((2, 1), 2.0)))], 2
    )
    data, target = next(iter(Retuple(DataLoaderAdapter(fake), data=(0, 2), target=(1,))))
    assert [float(d[0, 0]) for d in data] == [0.0, 2.0] and float(target[0, 0]) == 1.0
    with pytest.raises(NotImplementedError, match="transform"):
        next(iter(DataLoaderTransformer(DataLoaderAdapter(fake), 0)))


def test_dump_image(tmp_path: Path) -> None:
    fake, imgs, _ = _fake()
    dl = DumpImage(
        DataLoaderAdapter(fake),
        0,
        image_index=1,
        outshape=(3, 4, 5),
        output_directory=str(tmp_path),
    )
    x, _ = next(iter(dl))
    np.testing.assert_array_equal(x.numpy(), imgs[0])  # unchanged
    (png,) = list(tmp_path.glob("*.png"))
    np.testing.assert_array_equal(
        np.asarray(Image.open(png)), imgs[0][1].transpose(1, 2, 0)[:, :, ::-1]
    )


def test_model_fits_an_adapter_chain() -> None:
    from neon_torch.initializers import Gaussian
    from neon_torch.layers import Affine, GeneralizedCost
    from neon_torch.models import Model
    from neon_torch.optimizers import GradientDescentMomentum
    from neon_torch.transforms import CrossEntropyMulti, Softmax

    fake, _, _ = _fake()
    train = TypeCast(OneHot(DataLoaderAdapter(fake), 1, 3), 0, np.float32)
    model = Model([Affine(3, init=Gaussian(scale=0.01), activation=Softmax())])
    model.fit(train, GeneralizedCost(CrossEntropyMulti()), GradientDescentMomentum(0.1, 0.9), 1)
    assert np.isfinite(float(model.total_cost))


def test_adapter_char_map_keeps_nonzero_entries() -> None:
    chars = np.array([[[3, 1, 0, 0]], [[2, 0, 0, 0]]], dtype=np.uint32)
    fake = FakeAeon([(("image", np.zeros((2, 1), np.uint8)), ("char_map", chars))], ndata=2)
    _, c = next(iter(DataLoaderAdapter(fake)))
    assert c.tolist() == [[3, 1, 2]]
