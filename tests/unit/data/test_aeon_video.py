"""aeon video etl: Motion-JPEG clips decoded with PyAV, every frame through the image etl
with one set of draws per clip, buffer (C, frames, H, W) zero-padded to max_frame_count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from neon_torch.backends import gen_backend  # noqa: E402
from neon_torch.data.aeon import AeonConfigError, AeonDataLoader, DataLoader  # noqa: E402
from neon_torch.data.dataloader_transformers import OneHot, TypeCast  # noqa: E402


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_AEON_WORKERS", "0")


def _write_clip(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mjpeg", rate=25)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuvj420p"
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as clip:
        return [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]


def _dataset(tmp_path: Path, n_frames: tuple[int, ...] = (5, 3)) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32]
    rows = ["@FILE\tASCII_INT"]
    for i, n in enumerate(n_frames):
        frames = [
            np.stack([(xx * (4 + k) + yy * c * 3 + 40 * i) % 256 for c in range(3)], -1).astype(
                np.uint8
            )
            for k in range(n)
        ]
        _write_clip(tmp_path / f"v{i}.avi", frames)
        rows.append(f"v{i}.avi\t{int(rng.integers(0, 101))}")
    manifest = tmp_path / "index.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def _config(manifest: Path, frames: int = 8) -> dict:
    return {
        "manifest_filename": str(manifest),
        "manifest_root": str(manifest.parent),
        "batch_size": 2,
        "etl": [
            {"type": "video", "max_frame_count": frames, "frame": {"height": 16, "width": 16}},
            {"type": "label", "binary": True},
        ],
        "augmentation": [],
    }


def test_video_frames_layout_and_padding(tmp_path: Path) -> None:
    manifest = _dataset(tmp_path)
    dl = DataLoader(_config(manifest))
    assert dl.axes_info[0] == (
        "video",
        (("channels", 3), ("frames", 8), ("height", 16), ("width", 16)),
    )
    (_, video), (_, label) = next(iter(dl))
    assert video.shape == (2, 3, 8, 16, 16) and video.dtype == np.uint8
    labels = [int(r.split("\t")[1]) for r in manifest.read_text().splitlines()[1:]]
    assert label[:, 0].tolist() == labels
    for i, n in enumerate((5, 3)):
        ref = _decoded(tmp_path / f"v{i}.avi")
        assert len(ref) == n
        for k, frame in enumerate(ref):
            small = frame.reshape(16, 2, 16, 2, 3).astype(float).mean(axis=(1, 3))
            expected = np.rint(small)[:, :, ::-1].transpose(2, 0, 1)  # BGR, (C, H, W)
            assert np.abs(video[i, :, k].astype(int) - expected.astype(int)).max() <= 1
        assert not video[i, :, n:].any()  # zero frames after the clip


def test_video_truncates_and_feeds_a_chain(tmp_path: Path) -> None:
    gen_backend("cpu", batch_size=2)
    manifest = _dataset(tmp_path, (5, 5))
    dl = TypeCast(OneHot(AeonDataLoader(_config(manifest, frames=4)), 1, 101), 0, np.float32)
    x, t = next(iter(dl))
    assert tuple(x.shape) == (2, 3, 4, 16, 16) and dl.shape == (3, 4, 16, 16)
    assert tuple(t.shape) == (2, 101) and t.sum().item() == 2
    with pytest.raises(AeonConfigError, match="max_frame_count"):
        DataLoader(
            {
                **_config(manifest),
                "etl": [
                    {"type": "video", "max_frame_count": 0, "frame": {"height": 4, "width": 4}},
                    {"type": "label"},
                ],
            }
        )
