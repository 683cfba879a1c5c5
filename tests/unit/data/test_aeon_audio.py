"""aeon audio etl: spectrogram, MFSC and MFCC features against numpy computations of aeon's
definitions (frames, window, |DFT|, mel filters, orthonormal DCT, min-max uint8 scaling)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

from neon_torch.backends import gen_backend  # noqa: E402
from neon_torch.data.aeon import AeonConfigError, AeonDataLoader, DataLoader  # noqa: E402
from neon_torch.data.aeon.audio import duration_in_samples, mix_noise  # noqa: E402
from neon_torch.data.dataloader_transformers import OneHot, TypeCast  # noqa: E402

RATE = 2000


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_AEON_WORKERS", "0")


def _clips(
    tmp_path: Path, n: int = 2, seconds: float = 2.0, fmt: str = "AIFF"
) -> tuple[Path, list]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    rows, clips = ["@FILE\tSTRING"], []
    for i in range(n):
        x = 8000 * np.sin(2 * np.pi * (100 + 200 * i) * t) + rng.normal(0, 300, t.size)
        x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
        name = f"c{i}.{fmt.lower()}"
        sf.write(tmp_path / name, x, RATE, format=fmt, subtype="PCM_16")
        rows.append(f"{name}\t{i % 2}")
        clips.append(x)
    manifest = tmp_path / "index.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest, clips


def _config(manifest: Path, bs: int = 2, **audio: Any) -> dict:
    etl = {
        "type": "audio",
        "sample_freq_hz": RATE,
        "max_duration": "2 seconds",
        "frame_length": "80 milliseconds",
        "frame_stride": "40 milliseconds",
        **audio,
    }
    return {
        "manifest_filename": str(manifest),
        "manifest_root": str(manifest.parent),
        "batch_size": bs,
        "etl": [etl, {"type": "label"}],
    }


def _frames_magnitude(x: np.ndarray, length: int, stride: int, steps: int) -> np.ndarray:
    n = min((x.size - length) // stride + 1, steps)
    win = np.hanning(length)  # 0.5 - 0.5 cos(2 pi i / (n - 1)), aeon's hann
    frames = np.stack([x[k * stride : k * stride + length] * win for k in range(n)])
    return np.abs(np.fft.fft(frames, axis=1))[:, : length // 2 + 1]


def _to_uint8_image(feats: np.ndarray, steps: int) -> np.ndarray:
    lo, hi = feats.min(), feats.max()
    scaled = np.rint((feats - lo) * 255.0 / (hi - lo))
    padded = np.zeros((steps, feats.shape[1]))
    padded[: len(scaled)] = scaled
    return np.flipud(padded.T)


def test_duration_units() -> None:
    assert duration_in_samples("2 seconds", RATE) == 4000
    assert duration_in_samples("80 milliseconds", RATE) == 160
    assert duration_in_samples("123 samples", RATE) == 123
    with pytest.raises(AeonConfigError, match="samples\\|milliseconds\\|seconds"):
        duration_in_samples("2 minutes", RATE)


def test_specgram_matches_numpy(tmp_path: Path) -> None:
    manifest, clips = _clips(tmp_path)
    dl = DataLoader(_config(manifest))
    assert dl.axes_info[0] == ("audio", (("channels", 1), ("frequency", 81), ("time", 49)))
    (_, audio), (_, label) = next(iter(dl))
    assert audio.shape == (2, 1, 81, 49) and audio.dtype == np.uint8
    assert label[:, 0].tolist() == [0, 1]
    for i, x in enumerate(clips):
        expected = _to_uint8_image(_frames_magnitude(x.astype(float), 160, 80, 49), 49)
        assert np.abs(audio[i, 0].astype(int) - expected.astype(int)).max() <= 1
    # the tone's bin (100 Hz -> bin 8 of 81) is the brightest row, counted from the top
    assert int(np.argmax(audio[0, 0].astype(int).sum(axis=1))) == 80 - 8


def test_short_clip_is_zero_padded(tmp_path: Path) -> None:
    manifest, clips = _clips(tmp_path, n=1, seconds=1.0, fmt="WAV")
    (_, audio), _ = next(iter(DataLoader(_config(manifest, bs=1))))
    frames = (clips[0].size - 160) // 80 + 1  # 24 frames of the 49
    assert audio[0, 0, :, frames:].max() == 0 and audio[0, 0, :, :frames].max() == 255


def _mel_bank(n_filters: int, fft: int, rate: int) -> np.ndarray:
    def mel(f: float) -> float:
        return 2595 * np.log10(1 + f / 700)

    def hz(m: float) -> float:
        return 700 * (10 ** (m / 2595) - 1)

    pts = np.linspace(0, mel(rate / 2), n_filters + 2)
    edges = [int(np.floor((1 + fft) / rate * hz(p))) for p in pts]
    bank = np.zeros((fft // 2 + 1, n_filters))
    for j in range(n_filters):
        a, b, c = edges[j : j + 3]
        bank[a:b, j] = (np.arange(a, b) - a) / (b - a)
        bank[b:c, j] = (c - np.arange(b, c)) / (c - b)
    return bank


def test_mfsc_and_mfcc(tmp_path: Path) -> None:
    manifest, clips = _clips(tmp_path)
    x = clips[1].astype(float)
    spec = _frames_magnitude(x, 160, 80, 49)
    mfsc = np.log(spec**2 / (2 * (spec.shape[1] - 1)) @ _mel_bank(20, 160, RATE))
    (_, out), _ = next(iter(DataLoader(_config(manifest, feature_type="mfsc", num_filters=20))))
    assert out.shape == (2, 1, 20, 49)
    assert np.abs(out[1, 0].astype(int) - _to_uint8_image(mfsc, 49).astype(int)).max() <= 1

    n = mfsc.shape[1]
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dct = np.sqrt(2 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    dct[0] /= np.sqrt(2)
    mfcc = (mfsc @ dct.T)[:, :12]
    cfg = _config(manifest, feature_type="mfcc", num_filters=20, num_cepstra=12)
    (_, out), _ = next(iter(DataLoader(cfg)))
    assert out.shape == (2, 1, 12, 49)
    assert np.abs(out[1, 0].astype(int) - _to_uint8_image(mfcc, 49).astype(int)).max() <= 1


def test_emit_length_and_adapter_percentage(tmp_path: Path) -> None:
    gen_backend("cpu", batch_size=2)
    manifest, _ = _clips(tmp_path, seconds=1.0, fmt="WAV")
    dl = AeonDataLoader(_config(manifest, emit_length=True))
    assert [n for n, _ in dl.axes_info] == ["audio", "audio_length", "label"]
    audio, length, label = next(iter(dl))
    assert tuple(audio.shape) == (2, 1, 81, 49) and label.tolist() == [[0], [1]]
    assert length.tolist() == [[50], [50]]  # 2000 of 4000 samples, in percent
    dl = TypeCast(OneHot(AeonDataLoader(_config(manifest)), index=1, nclasses=2), 0, np.float32)
    x, t = next(iter(dl))
    assert tuple(x.shape) == (2, 1, 81, 49) and t.tolist() == [[1, 0], [0, 1]]


def test_audio_config_errors(tmp_path: Path) -> None:
    manifest, _ = _clips(tmp_path, n=1)
    with pytest.raises(AeonConfigError, match="feature_type"):
        DataLoader(_config(manifest, feature_type="chroma"))
    with pytest.raises(AeonConfigError, match="window_type"):
        DataLoader(_config(manifest, window_type="kaiser"))
    with pytest.raises(AeonConfigError, match="noise_index_file"):
        DataLoader(_config(manifest, noise_index_file=str(tmp_path / "missing.csv")))
    with pytest.raises(AeonConfigError, match="noise_level"):
        DataLoader(_config(manifest, noise_level=[0.5, 0.1]))
    with pytest.raises(AeonConfigError, match="required"):
        DataLoader(_config(manifest, max_duration=None))


@pytest.mark.parametrize(
    "kind, formula",
    [
        ("hamming", lambda i, n: 0.54 - 0.46 * np.cos(2 * np.pi * i / (n - 1))),
        ("blackman", lambda i, n: np.blackman(n)),
        ("bartlett", lambda i, n: 1.0 - 2.0 * np.abs(i - n / 2.0) / n),
        ("none", lambda i, n: np.ones(n)),
    ],
)
def test_window_types(tmp_path: Path, kind: str, formula: Any) -> None:
    manifest, clips = _clips(tmp_path, n=1)
    (_, out), _ = next(iter(DataLoader(_config(manifest, bs=1, window_type=kind))))
    x = clips[0].astype(float)
    win = formula(np.arange(160), 160)
    frames = np.stack([x[k * 80 : k * 80 + 160] * win for k in range(49)])
    spec = np.abs(np.fft.rfft(frames, axis=1))
    assert np.abs(out[0, 0].astype(int) - _to_uint8_image(spec, 49).astype(int)).max() <= 1


def test_mix_noise_wraps_and_saturates() -> None:
    clip = np.array([0, 100, -100, 32000, -32000, 5], dtype=np.int16)
    noise = np.array([10, 20, 30, 4000], dtype=np.int16)
    out = mix_noise(clip, noise, 0.5, 0.5)  # from noise[2] on, wrapping: 30, 4000, 10, 20, ...
    tiled = np.array([30, 4000, 10, 20, 30, 4000])
    expected = np.clip(np.rint(clip + 0.5 * tiled), -32768, 32767)
    assert out.dtype == np.int16 and out.tolist() == expected.tolist()


def test_noise_augmentation_block(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(4000, np.int16), RATE, subtype="PCM_16")
    tone = np.rint(8000 * np.sin(2 * np.pi * 300 * np.arange(3000) / RATE)).astype(np.int16)
    sf.write(tmp_path / "noise.wav", tone, RATE, subtype="PCM_16")
    (tmp_path / "noise.csv").write_text("@FILE\nnoise.wav\n")
    manifest = tmp_path / "index.csv"
    manifest.write_text("@FILE\tSTRING\nsilent.wav\t0\n")

    def run(probability: float) -> np.ndarray:
        cfg = _config(manifest, bs=1)
        cfg["augmentation"] = [
            {
                "type": "audio",
                "noise_index_file": str(tmp_path / "noise.csv"),
                "noise_root": str(tmp_path),
                "add_noise_probability": probability,
                "noise_level": [0.5, 0.5],
            }
        ]
        return next(iter(DataLoader(cfg)))[0][1][0, 0]

    assert not run(0.0).any()  # silence stays silent
    noisy = run(1.0)
    # the 300 Hz tone lands in bin 300 * 160 / 2000 = 24, row 80 - 24 from the top
    assert int(np.argmax(noisy.astype(int).sum(axis=1))) == 80 - 24


def test_time_scale_fraction(tmp_path: Path) -> None:
    manifest, _ = _clips(tmp_path, n=1)
    cfg = _config(manifest, bs=1)
    cfg["augmentation"] = [{"type": "audio", "time_scale_fraction": [0.5, 0.5]}]
    (_, out), _ = next(iter(DataLoader(cfg)))
    # 49 frames shrink to rint(24.5) = 24 (half to even); the rest is zero padding
    assert out[0, 0, :, :24].any() and not out[0, 0, :, 24:].any()
