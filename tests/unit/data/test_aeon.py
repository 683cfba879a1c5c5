"""aeon loader (neon.data.aeon_shim): manifests, loader keys, image and label etl.

Expected outputs are computed here with numpy and Pillow from the definitions in aeon's
source (crop box, area resize, BGR order, photometric formulas), not with the loader's code.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from neon_torch.backends import gen_backend
from neon_torch.data.aeon import AeonConfigError, AeonDataLoader, DataLoader
from neon_torch.data.aeon.manifest import Manifest
from neon_torch.errors import UnsupportedNeonFeature


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_AEON_WORKERS", "0")


def _write_images(root: Path, images: list[np.ndarray], labels: list[int]) -> Path:
    """RGB uint8 (H, W, 3) arrays as PNGs plus an aeon manifest; returns the manifest."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = ["@FILE\tSTRING"]
    for i, (img, lbl) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(img).save(root / "img" / f"{i}.png")
        rows.append(f"img/{i}.png\t{lbl}")
    manifest = root / "index.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def _random_images(n: int, h: int, w: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _config(manifest: Path, height: int, width: int, bs: int = 2, **kw: Any) -> dict:
    aug = kw.pop("augmentation", None)
    cfg = {
        "manifest_filename": str(manifest),
        "manifest_root": str(manifest.parent),
        "batch_size": bs,
        "etl": [{"type": "image", "height": height, "width": width}, {"type": "label"}],
    }
    if aug is not None:
        cfg["augmentation"] = [{"type": "image", **aug}]
    cfg.update(kw)
    return cfg


def _chw_bgr(img: np.ndarray) -> np.ndarray:
    return img[:, :, ::-1].transpose(2, 0, 1)


def _records(dl: DataLoader, n_batches: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    batches = list(itertools.islice(iter(dl), n_batches))
    x = np.concatenate([dict(b)["image"] for b in batches])
    y = np.concatenate([dict(b)["label"] for b in batches])
    return x, y


# ---------------------------------------------------------------- manifests


def test_manifest_header_comments_root(tmp_path: Path) -> None:
    m = tmp_path / "m.tsv"
    m.write_text("# comment\n\n@FILE\tSTRING\na.png\t3\n# more\nb/c.png\t7\n")
    man = Manifest.read(str(m), root="/data")
    assert man.types == ["FILE", "STRING"]
    assert man.records == [["/data/a.png", "3"], ["/data/b/c.png", "7"]]
    assert Manifest.read(str(m)).records[0] == ["a.png", "3"]


@pytest.mark.parametrize(
    "text, match",
    [
        ("a.png\t1\n", "header"),
        ("@FILE\tSTRING\na.png\n", "1 tab-separated"),
        ("@FILE\tLABEL\na.png\t1\n", "unknown element"),
        ("@FILE\tSTRING\n", "no records"),
    ],
)
def test_manifest_errors(tmp_path: Path, text: str, match: str) -> None:
    m = tmp_path / "m.tsv"
    m.write_text(text)
    with pytest.raises(AeonConfigError, match=match):
        Manifest.read(str(m))


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(AeonConfigError, match="does not exist"):
        DataLoader(_config(tmp_path / "nope.csv", 4, 4))


# ---------------------------------------------------------------- loader keys


def test_batches_wraparound_ndata_axes(tmp_path: Path) -> None:
    imgs = _random_images(5, 6, 6)
    dl = DataLoader(_config(_write_images(tmp_path, imgs, [0, 1, 2, 3, 4]), 6, 6, bs=2))
    assert dl.ndata == len(dl) == 5
    assert dl.axes_info == (
        ("image", (("channels", 3), ("height", 6), ("width", 6))),
        ("label", (("0", 1),)),
    )
    batches = list(dl)
    assert len(batches) == 3  # ceil(5 / 2)
    assert [name for name, _ in batches[0]] == ["image", "label"]
    x, y = _records(dl)
    assert x.dtype == np.uint8 and x.shape == (6, 3, 6, 6)
    assert y.dtype == np.uint32 and y.shape == (6, 1)
    assert y[:, 0].tolist() == [0, 1, 2, 3, 4, 0]  # last minibatch wraps to the start
    for i, k in enumerate([0, 1, 2, 3, 4, 0]):
        np.testing.assert_array_equal(x[i], _chw_bgr(imgs[k]))


def test_iteration_modes(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(3, 4, 4), [0, 1, 2])
    assert len(list(DataLoader(_config(m, 4, 4, bs=2, iteration_mode="ONCE")))) == 2
    count = DataLoader(_config(m, 4, 4, bs=2, iteration_mode="COUNT", iteration_mode_count=5))
    labels = np.concatenate([dict(b)["label"][:, 0] for b in count])
    assert labels.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    endless = DataLoader(_config(m, 4, 4, bs=2, iteration_mode="INFINITE"))
    labels = np.concatenate([dict(b)["label"][:, 0] for b in itertools.islice(iter(endless), 7)])
    assert labels.tolist() == [0, 1, 2] * 4 + [0, 1]  # one endless stream of passes
    with pytest.raises(AeonConfigError, match="iteration_mode"):
        DataLoader(_config(m, 4, 4, iteration_mode="TWICE"))
    with pytest.raises(AeonConfigError, match="iteration_mode_count"):
        DataLoader(_config(m, 4, 4, iteration_mode="COUNT"))


def test_batch_major_false(tmp_path: Path) -> None:
    imgs = _random_images(2, 3, 3)
    dl = DataLoader(_config(_write_images(tmp_path, imgs, [4, 5]), 3, 3, batch_major=False))
    image, label = (v for _, v in next(iter(dl)))
    assert image.shape == (27, 2) and label.tolist() == [[4, 5]]
    np.testing.assert_array_equal(image[:, 1], _chw_bgr(imgs[1]).reshape(-1))


def test_subset_fraction(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(20, 2, 2), list(range(20)))
    dl = DataLoader(_config(m, 2, 2, bs=1, subset_fraction=0.2))
    assert dl.ndata == 4  # floor(20 * 0.2), aeon's count
    _, y = _records(dl)
    kept = y[:, 0].tolist()
    assert kept == sorted(kept) and len(set(kept)) == 4  # manifest order kept
    with pytest.raises(AeonConfigError, match="subset_fraction"):
        DataLoader(_config(m, 2, 2, subset_fraction=1.5))


def test_shuffle_manifest_random_seed(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(20, 2, 2), list(range(20)))

    def order(**kw: Any) -> list[int]:
        return _records(DataLoader(_config(m, 2, 2, bs=4, **kw)))[1][:, 0].tolist()

    plain = order()
    assert plain == list(range(20))
    a = order(shuffle_manifest=True, random_seed=3)
    assert sorted(a) == plain and a != plain
    assert order(shuffle_manifest=True, random_seed=3) == a
    assert order(shuffle_manifest=True, random_seed=4) != a


def test_shuffle_enable_reorders_blocks(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(12, 2, 2), list(range(12)))
    dl = DataLoader(_config(m, 2, 2, bs=4, shuffle_enable=True, block_size=3, random_seed=1))
    epochs = [_records(dl)[1][:, 0].tolist() for _ in range(4)]
    assert epochs[0] == list(range(12))  # first pass in manifest order
    for e in epochs[1:]:
        assert sorted(e) == list(range(12))
        blocks = [e[i : i + 3] for i in range(0, 12, 3)]
        assert all(b == list(range(b[0], b[0] + 3)) and b[0] % 3 == 0 for b in blocks)
    assert any(e != epochs[0] for e in epochs[1:])


def test_unknown_key_and_bad_batch_size(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(2, 2, 2), [0, 1])
    with pytest.raises(AeonConfigError, match="unknown key"):
        DataLoader(_config(m, 2, 2, shuffle=True))
    with pytest.raises(AeonConfigError, match="batch_size"):
        DataLoader(_config(m, 2, 2, bs=0))
    with pytest.raises(AeonConfigError, match="column"):
        cfg = _config(m, 2, 2)
        cfg["etl"] = cfg["etl"][:1]
        DataLoader(cfg)
    for key in ("cache_directory", "pinned", "web_server_port", "block_size"):
        value = {"cache_directory": str(tmp_path), "pinned": True}.get(key, 10)
        assert DataLoader(_config(m, 2, 2, **{key: value})).ndata == 2


def test_workers_match_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _write_images(tmp_path, _random_images(6, 12, 12), list(range(6)))
    aug = {"scale": [0.5, 1.0], "center": False, "flip_enable": True}
    x0, y0 = _records(DataLoader(_config(m, 8, 8, bs=3, random_seed=5, augmentation=aug)))
    monkeypatch.setenv("NEON_TORCH_AEON_WORKERS", "2")
    x2, y2 = _records(DataLoader(_config(m, 8, 8, bs=3, random_seed=5, augmentation=aug)))
    np.testing.assert_array_equal(x0, x2)
    np.testing.assert_array_equal(y0, y2)


# ---------------------------------------------------------------- image etl


def _box_mean(img: np.ndarray, fy: int, fx: int) -> np.ndarray:
    h, w, c = img.shape
    return img.reshape(h // fy, fy, w // fx, fx, c).astype(np.float64).mean(axis=(1, 3))


def test_center_crop_scale_matches_cifar_layout(tmp_path: Path) -> None:
    imgs = _random_images(2, 40, 40)
    aug = {"scale": [0.8, 0.8], "crop_enable": True}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, imgs, [0, 1]), 32, 32, augmentation=aug))
    )
    for i in range(2):
        np.testing.assert_array_equal(x[i], _chw_bgr(imgs[i][4:36, 4:36]))


def test_crop_non_square_and_area_resize(tmp_path: Path) -> None:
    img = _random_images(1, 48, 64)[0]
    x, _ = _records(DataLoader(_config(_write_images(tmp_path, [img], [0]), 16, 16, bs=1)))
    # largest square: 48 x 48 at x = 8, shrunk by 3 with area averaging
    expected = np.rint(_box_mean(img[:, 8:56], 3, 3))
    assert np.abs(x[0].astype(int) - _chw_bgr(expected).astype(int)).max() <= 1


def test_horizontal_distortion(tmp_path: Path) -> None:
    img = _random_images(1, 40, 40)[0]
    aug = {"horizontal_distortion": [2.0, 2.0]}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, [img], [0]), 10, 10, bs=1, augmentation=aug))
    )
    # crop box aspect 2:1 -> 40 x 20 centred at y = 10, then 4x (width) by 2x (height)
    expected = np.rint(_box_mean(img[10:30], 2, 4))
    assert np.abs(x[0].astype(int) - _chw_bgr(expected).astype(int)).max() <= 1


def test_do_area_scale(tmp_path: Path) -> None:
    img = _random_images(1, 40, 40)[0]
    aug = {"scale": [0.25, 0.25], "do_area_scale": True}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, [img], [0]), 20, 20, bs=1, augmentation=aug))
    )
    np.testing.assert_array_equal(x[0], _chw_bgr(img[10:30, 10:30]))  # a quarter of the area


def test_random_crop_offsets_and_flip(tmp_path: Path) -> None:
    img = _random_images(1, 20, 20)[0]
    aug = {"scale": [0.5, 0.5], "center": False, "flip_enable": True}
    dl = DataLoader(
        _config(_write_images(tmp_path, [img], [0]), 10, 10, bs=8, augmentation=aug, random_seed=2)
    )
    x, _ = _records(dl, 4)
    crops = {
        (y0, x0, f): _chw_bgr(img[y0 : y0 + 10, x0 : x0 + 10][:, :: (-1 if f else 1)])
        for y0 in range(11)
        for x0 in range(11)
        for f in (0, 1)
    }
    found = set()
    for sample in x:
        hits = [k for k, v in crops.items() if np.array_equal(v, sample)]
        assert hits, "every output is a 10x10 crop of the input, maybe flipped"
        found.add(hits[0])
    assert {f for _, _, f in found} == {0, 1}
    assert len({(a, b) for a, b, _ in found}) > 1


def test_enlarging_uses_cubic_kernel(tmp_path: Path) -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    img[:, 2:] = 200  # a vertical edge
    x, _ = _records(DataLoader(_config(_write_images(tmp_path, [img], [0]), 8, 8, bs=1)))

    # OpenCV's cubic kernel (a = -0.75) at the half-pixel sample positions of a 2x enlargement
    def w(d: float) -> float:
        d, a = abs(d), -0.75
        return (a + 2) * d**3 - (a + 3) * d**2 + 1 if d <= 1 else a * (d**3 - 5 * d**2 + 8 * d - 4)

    row = img[0, :, 0].astype(float)
    expected = []
    for j in range(8):
        src = (j + 0.5) / 2 - 0.5
        base = int(np.floor(src))
        taps = [(base + k, w(src - (base + k))) for k in range(-1, 3)]
        expected.append(sum(row[min(max(i, 0), 3)] * wt for i, wt in taps))
    expected = np.clip(np.rint(expected), 0, 255)
    assert np.abs(x[0, 0].astype(int) - expected[None, :].astype(int)).max() <= 1
    assert x[0, 0].max() > 200  # the cubic kernel overshoots at the edge; linear would not


def test_crop_disabled_fixed_aspect_ratio(tmp_path: Path) -> None:
    img = _random_images(1, 20, 40)[0]
    aug = {"crop_enable": False, "fixed_aspect_ratio": True}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, [img], [0]), 20, 20, bs=1, augmentation=aug))
    )
    expected = np.zeros((3, 20, 20), np.uint8)
    expected[:, :10, :] = _chw_bgr(np.rint(_box_mean(img, 2, 2)).astype(np.uint8))
    assert np.abs(x[0].astype(int) - expected.astype(int)).max() <= 1
    assert not x[0][:, 10:].any()


def test_brightness_saturation_contrast(tmp_path: Path) -> None:
    img = _random_images(1, 8, 8)[0]
    m = _write_images(tmp_path, [img], [0])
    bgr = img[:, :, ::-1].astype(np.float64)

    def run(**aug: Any) -> np.ndarray:
        return _records(DataLoader(_config(m, 8, 8, bs=1, augmentation=aug)))[0][0]

    np.testing.assert_array_equal(
        run(brightness=[0.5, 0.5]), np.clip(np.rint(bgr * 0.5), 0, 255).transpose(2, 0, 1)
    )
    grey = bgr @ np.array([0.0820, 0.6094, 0.3086])
    out = run(saturation=[0.0, 0.0]).astype(int)
    assert np.abs(out - np.rint(grey)[None].astype(int)).max() <= 1
    flat = run(contrast=[0.0, 0.0]).astype(int)
    mean = bgr.reshape(-1, 3).mean(axis=0)
    assert np.abs(flat - np.rint(mean)[:, None, None].astype(int)).max() <= 1


def test_lighting_shifts_each_channel_uniformly(tmp_path: Path) -> None:
    img = np.full((8, 8, 3), 100, np.uint8)
    img[::2] = 140
    aug = {"lighting": [0.0, 0.1]}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, [img], [0]), 8, 8, bs=1, augmentation=aug))
    )
    bgr = _chw_bgr(img).astype(float)
    shift = x[0] * 1.1 - bgr  # out = (in + shift_c) / (1 + stddev), rounded twice
    assert np.ptp(shift, axis=(1, 2)).max() <= 2.5
    assert np.abs(shift.mean(axis=(1, 2))).max() > 0.5  # a real colour shift happened


def test_grey_channel(tmp_path: Path) -> None:
    img = _random_images(1, 6, 6)[0]
    m = _write_images(tmp_path, [img], [0])
    cfg = _config(m, 6, 6, bs=1)
    cfg["etl"][0]["channels"] = 1
    x, _ = _records(DataLoader(cfg))
    np.testing.assert_array_equal(x[0, 0], np.asarray(Image.fromarray(img).convert("L")))


def test_unsupported_augmentation(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(1, 4, 4), [0])
    with pytest.raises(UnsupportedNeonFeature, match="angle"):
        DataLoader(_config(m, 4, 4, augmentation={"angle": [-10, 10]}))
    with pytest.raises(AeonConfigError, match="scale"):
        DataLoader(_config(m, 4, 4, augmentation={"scale": [0.9, 0.1]}))


# ---------------------------------------------------------------- label etl


def test_label_binary_and_errors(tmp_path: Path) -> None:
    m = tmp_path / "m.tsv"
    m.write_text("@ASCII_INT\n7\n-2\n")
    cfg = {"manifest_filename": str(m), "batch_size": 2, "etl": [{"type": "label", "binary": True}]}
    ((name, labels),) = next(
        iter(
            DataLoader(
                {**cfg, "etl": [{"type": "label", "binary": True, "output_type": "int32_t"}]}
            )
        )
    )
    assert name == "label" and labels[:, 0].tolist() == [7, -2]
    m.write_text("@STRING\ncat\n")
    with pytest.raises(AeonConfigError, match="not an integer"):
        next(iter(DataLoader({**cfg, "batch_size": 1, "etl": [{"type": "label"}]})))


# ---------------------------------------------------------------- shim


def test_aeon_dataloader_adapter_chain(tmp_path: Path) -> None:
    from neon_torch.data.dataloader_transformers import BGRMeanSubtract, OneHot, TypeCast

    gen_backend("cpu", batch_size=2)
    imgs = _random_images(3, 5, 5)
    dl = AeonDataLoader(_config(_write_images(tmp_path, imgs, [2, 0, 1]), 5, 5))
    dl = BGRMeanSubtract(TypeCast(OneHot(dl, index=1, nclasses=3), index=0, dtype=np.float32), 0)
    assert dl.shape == (3, 5, 5) and dl.ndata == 3 and dl.nbatches == 2
    batches = list(dl)
    assert len(batches) == 2
    x, t = batches[1]
    assert x.dtype.is_floating_point and tuple(x.shape) == (2, 3, 5, 5)
    expected = _chw_bgr(imgs[2]).astype(np.float32) - np.array([127, 119, 104])[:, None, None]
    np.testing.assert_allclose(x[0].numpy(), expected)
    np.testing.assert_array_equal(t.numpy(), [[0, 1, 0], [0, 0, 1]])
    raw = AeonDataLoader(_config(tmp_path / "index.csv", 5, 5), adapter=False)
    assert isinstance(raw, DataLoader)


def test_compat_imports() -> None:
    from neon_torch import compat

    compat.install()
    try:
        from neon.data.aeon_shim import AeonDataLoader as shim_loader  # type: ignore[import-not-found]
        from neon.data.dataloader_transformers import OneHot  # type: ignore[import-not-found]
        from neon.data.dataloaderadapter import DataLoaderAdapter  # type: ignore[import-not-found]
    finally:
        compat.uninstall()
    assert shim_loader is AeonDataLoader
    module = "neon_torch.data.dataloader_transformers"
    assert OneHot.__module__ == DataLoaderAdapter.__module__ == module


# ---------------------------------------------------------------- pixelmask and char_map


def test_pixelmask_shares_crop_and_flip_with_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    mask = rng.integers(0, 5, (20, 20), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "i.png")
    Image.fromarray(mask).save(tmp_path / "m.png")
    manifest = tmp_path / "index.csv"
    manifest.write_text("@FILE\tFILE\ni.png\tm.png\n")
    cfg = {
        "manifest_filename": str(manifest),
        "manifest_root": str(tmp_path),
        "batch_size": 8,
        "random_seed": 9,
        "etl": [
            {"type": "image", "height": 5, "width": 5},
            {"type": "pixelmask", "height": 5, "width": 5},
        ],
        "augmentation": [
            {"type": "image", "scale": [0.5, 0.5], "center": False, "flip_enable": True}
        ],
    }
    dl = DataLoader(cfg)
    assert dl.axes_info[1] == ("pixelmask", (("channels", 1), ("height", 5), ("width", 5)))
    (_, x), (_, m) = next(iter(dl))
    assert m.shape == (8, 1, 5, 5)
    flips = set()
    for xi, mi in zip(x, m, strict=True):
        # find the 10x10 crop (and flip) that the image shows, then check the mask used it
        hits = [
            (y0, x0, f)
            for y0 in range(11)
            for x0 in range(11)
            for f in (False, True)
            if np.abs(
                xi.astype(int)
                - _chw_bgr(_box_mean(img[y0 : y0 + 10, x0 : x0 + 10], 2, 2))[
                    :, :, :: (-1 if f else 1)
                ]
            ).max()
            <= 1
        ]
        assert hits
        y0, x0, f = hits[0]
        nearest = mask[y0 : y0 + 10 : 2, x0 : x0 + 10 : 2]  # source pixel floor(x * 10 / 5)
        np.testing.assert_array_equal(mi[0], nearest[:, ::-1] if f else nearest)
        flips.add(f)
    assert flips == {False, True}


def test_char_map(tmp_path: Path) -> None:
    manifest = tmp_path / "index.csv"
    manifest.write_text("@STRING\nHello world\nab?c\n")
    etl = {"type": "char_map", "alphabet": "abcdefghijklmnopqrstuvwxyz ", "max_length": 8}
    cfg = {"manifest_filename": str(manifest), "batch_size": 2, "etl": [etl]}
    ((name, out),) = next(iter(DataLoader(cfg)))
    assert name == "char_map" and out.shape == (2, 1, 8) and out.dtype == np.uint32
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ "
    assert out[0, 0].tolist() == [alphabet.index(c) for c in "HELLO WO"]
    assert out[1, 0].tolist() == [0, 1, 2, 0, 0, 0, 0, 0]  # '?' dropped
    cfg["etl"] = [{**etl, "unknown_value": 30, "emit_length": True}]
    (_, out), (name, length) = next(iter(DataLoader(cfg)))
    assert out[1, 0, :4].tolist() == [0, 1, 30, 2] and name == "char_map_length"
    assert length[:, 0].tolist() == [8, 4]
    with pytest.raises(AeonConfigError, match="repeated"):
        DataLoader({**cfg, "etl": [{**etl, "alphabet": "abca"}]})


def test_random_seed_controls_augmentation(tmp_path: Path) -> None:
    m = _write_images(tmp_path, _random_images(4, 16, 16), list(range(4)))
    aug = {"scale": [0.4, 0.9], "center": False, "flip_enable": True}

    def images(seed: int) -> np.ndarray:
        return _records(DataLoader(_config(m, 6, 6, bs=4, random_seed=seed, augmentation=aug)))[0]

    np.testing.assert_array_equal(images(7), images(7))
    assert not np.array_equal(images(7), images(8))
    dl = DataLoader(_config(m, 6, 6, bs=4, random_seed=7, augmentation=aug))
    first, second = _records(dl)[0], _records(dl)[0]
    assert not np.array_equal(first, second)  # new draws every epoch


def test_channel_major_false_name_and_output_type(tmp_path: Path) -> None:
    imgs = _random_images(2, 4, 4)
    cfg = _config(_write_images(tmp_path, imgs, [0, 1]), 4, 4)
    cfg["etl"][0].update(channel_major=False, name="cam", output_type="float")
    cfg["etl"][1].update(name="cls", output_type="int32_t")
    dl = DataLoader(cfg)
    assert [name for name, _ in dl.axes_info] == ["cam.image", "cls.label"]
    assert dl.axes_info[0][1] == (("height", 4), ("width", 4), ("channels", 3))
    (_, x), (_, y) = next(iter(dl))
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(x[1], imgs[1][:, :, ::-1])


def test_crop_disabled_fixed_scaling_factor_packed_layout(tmp_path: Path) -> None:
    img = _random_images(1, 8, 8)[0]
    aug = {"crop_enable": False, "fixed_scaling_factor": 0.5}
    x, _ = _records(
        DataLoader(_config(_write_images(tmp_path, [img], [0]), 6, 6, bs=1, augmentation=aug))
    )
    # aeon wrote the 4x4 result's channel planes one after the other at the buffer's start
    small = np.rint(_box_mean(img, 2, 2)).astype(int)[:, :, ::-1].transpose(2, 0, 1)
    flat = x[0].reshape(-1).astype(int)
    assert np.abs(flat[:48] - small.reshape(-1)).max() <= 1 and not flat[48:].any()
