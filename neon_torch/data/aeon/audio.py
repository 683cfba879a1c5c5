"""aeon's ``audio`` etl: waveform (soundfile) to spectrogram, mel-frequency spectral (MFSC) or
cepstral (MFCC) features, as aeon's ``specgram`` code defined them.

Frames of ``frame_length`` samples every ``frame_stride`` samples (at most ``time_steps =
(max_duration - frame_length) // frame_stride + 1``), each multiplied by the window
(``hann``, ``hamming``, ``blackman``, ``bartlett`` over ``n - 1``, or ``none``), magnitude of
the DFT's first ``frame_length // 2 + 1`` bins; ``mfsc``: ``log((|X|² / (2 (F - 1))) @ mel
filterbank)``; ``mfcc``: the first ``num_cepstra`` orthonormal DCT-II coefficients of the MFSC
row (padded to even length). The features are min-max scaled to [0, 255] and rounded to
uint8, zero-padded to ``time_steps`` frames, transposed to ``(frequency, time)`` and flipped so
that the highest frequency is row 0; the buffer is ``(1, frequency, time)``.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import torch

from ._config import AeonConfigError, check_keys, import_decoder

__all__ = [
    "AudioETL",
    "duration_in_samples",
    "features",
    "mel_filterbank",
    "mix_noise",
    "time_scale",
    "window",
]

_AUDIO_KEYS: dict[str, Any] = {
    "type": "audio",
    "name": "",
    "max_duration": None,
    "frame_stride": None,
    "frame_length": None,
    "num_cepstra": 40,
    "num_filters": 64,
    "output_type": "uint8_t",
    "feature_type": "specgram",
    "window_type": "hann",
    "noise_index_file": "",
    "noise_root": "",
    "add_noise_probability": 0.0,
    "sample_freq_hz": 16000,
    "time_scale_fraction": [1.0, 1.0],
    "noise_level": [0.0, 0.5],
    "emit_length": False,
}


def duration_in_samples(value: str, sample_freq_hz: int) -> int:
    """aeon's duration strings (``'2 seconds'``, ``'80 milliseconds'``, ``'160 samples'``)
    as a whole number of samples (truncated, as aeon stored them)."""
    parts = str(value).split()
    try:
        amount = float(parts[0])
        unit = parts[1] if len(parts) > 1 else ""
    except (IndexError, ValueError):
        amount, unit = float("nan"), ""
    if "samples" in unit:
        return int(amount)
    if "milliseconds" in unit:
        return int(np.float32(amount) * sample_freq_hz / np.float32(1000.0))
    if "seconds" in unit:
        return int(np.float32(amount) * sample_freq_hz)
    raise AeonConfigError(
        f"aeon audio duration {value!r}; expected '<number> samples|milliseconds|seconds'."
    )


def window(kind: str, n: int) -> np.ndarray | None:
    """aeon's analysis window of ``n`` points (None for ``'none'``)."""
    if kind == "none":
        return None
    i = np.arange(n, dtype=np.float64)
    step = 2.0 * np.pi / (n - 1)
    shapes = {
        "hann": lambda: 0.5 - 0.5 * np.cos(step * i),
        "hamming": lambda: 0.54 - 0.46 * np.cos(step * i),
        "blackman": lambda: 0.42 - 0.5 * np.cos(step * i) + 0.08 * np.cos(2 * step * i),
        "bartlett": lambda: 1.0 - 2.0 * np.abs(i - n / 2.0) / n,
    }
    if kind not in shapes:
        raise AeonConfigError(
            f"aeon audio window_type={kind!r}; expected one of {[*sorted(shapes), 'none']}."
        )
    return shapes[kind]().astype(np.float32)


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: float) -> float:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(num_filters: int, fft_size: int, sample_freq_hz: int) -> np.ndarray:
    """``(fft_size // 2 + 1, num_filters)`` triangular mel filters, aeon's construction: band
    edges at ``floor((fft_size + 1) / rate * hz)`` of equally spaced mel frequencies."""
    top = _hz_to_mel(sample_freq_hz / 2.0)
    delta = top / (num_filters + 1)
    scale = (1 + fft_size) / float(sample_freq_hz)
    bins = [int(np.floor(scale * _mel_to_hz(j * delta))) for j in range(num_filters + 2)]
    bank = np.zeros((fft_size // 2 + 1, num_filters), dtype=np.float32)
    for j in range(num_filters):
        left, mid, right = bins[j], bins[j + 1], bins[j + 2]
        for i in range(left, mid):
            bank[i, j] = (i - left) / (mid - left)
        for i in range(mid, right):
            bank[i, j] = (right - i) / (right - mid)
    return bank


def _dct_ortho(x: np.ndarray) -> np.ndarray:
    n = x.shape[1]
    k = np.arange(n)[:, None]
    basis = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return x @ basis.T


def features(
    samples: np.ndarray,
    frame_length: int,
    frame_stride: int,
    time_steps: int,
    feature_type: str = "specgram",
    win: np.ndarray | None = None,
    filterbank: np.ndarray | None = None,
    num_cepstra: int = 40,
) -> np.ndarray:
    """``(frames, features)`` float32 features of int16 ``samples`` (``frames <= time_steps``)."""
    wav = np.asarray(samples).reshape(-1).astype(np.float32)
    n_frames = min((wav.size - frame_length) // frame_stride + 1, time_steps)
    if n_frames < 0:
        raise AeonConfigError(
            f"aeon audio clip of {wav.size} samples is shorter than one frame "
            f"({frame_length} samples); use a shorter frame_length."
        )
    idx = np.arange(n_frames)[:, None] * frame_stride + np.arange(frame_length)[None, :]
    frames = wav[idx]
    if win is not None:
        frames = frames * win
    spec = np.abs(np.fft.rfft(frames.astype(np.float64), axis=1)).astype(np.float32)
    if feature_type == "specgram":
        return spec
    with np.errstate(divide="ignore"):
        mfsc = np.log((spec * spec / (2 * (spec.shape[1] - 1))) @ filterbank).astype(np.float32)
    if feature_type == "mfsc":
        return mfsc
    if mfsc.shape[1] % 2:
        mfsc = np.pad(mfsc, ((0, 0), (0, 1)))
    return _dct_ortho(mfsc.astype(np.float64))[:, :num_cepstra].astype(np.float32)


_AUDIO_AUG_KEYS: dict[str, Any] = {
    "type": "audio",
    "add_noise_probability": 0.0,
    "noise_level": [0.0, 0.5],
    "time_scale_fraction": [1.0, 1.0],
    "noise_index_file": "",
    "noise_root": "",
}


def _range(key: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise AeonConfigError(
            f"aeon audio '{key}'={value!r}; expected a [min, max] pair."
        ) from None
    if lo > hi:
        raise AeonConfigError(f"aeon audio '{key}'={value!r}; expected min <= max.")
    return lo, hi


def mix_noise(
    samples: np.ndarray, noise: np.ndarray, offset_fraction: float, level: float
) -> np.ndarray:
    """aeon's noise mixing: ``noise`` read from ``int(len(noise) * offset_fraction)`` on,
    wrapping to its start as often as needed to cover the clip, scaled by ``level`` and added
    to the int16 ``samples`` with rounding and saturation."""
    start = int(len(noise) * np.float32(offset_fraction))
    idx = (start + np.arange(len(samples))) % len(noise)
    mixed = samples.astype(np.float64) + level * noise[idx].astype(np.float64)
    return np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)


def time_scale(feats: np.ndarray, fraction: float) -> np.ndarray:
    """aeon's time warp: the ``(frames, features)`` rows resized by ``fraction`` (rounded
    row count; area averaging when shrinking, OpenCV's cubic kernel when stretching)."""
    rows = int(np.rint(feats.shape[0] * fraction))
    if fraction == 1.0 or rows == feats.shape[0] or rows == 0:
        return feats
    t = torch.from_numpy(np.array(feats, dtype=np.float32))[None, None]
    if fraction > 1.0:
        out = torch.nn.functional.interpolate(
            t, size=(rows, feats.shape[1]), mode="bicubic", align_corners=False
        )
    else:
        edges = np.arange(rows + 1) * (feats.shape[0] / rows)
        cells = np.arange(feats.shape[0])[None, :]
        cover = np.clip(
            np.minimum(edges[1:, None], cells + 1) - np.maximum(edges[:-1, None], cells), 0, None
        )
        weights = torch.from_numpy((cover / cover.sum(axis=1, keepdims=True)).astype(np.float32))
        out = (weights @ t[0, 0])[None, None]
    return out[0, 0].numpy()


class AudioETL:
    """aeon's ``audio`` etl (``feature_type`` ``specgram``, ``mfsc`` or ``mfcc``); decoding
    needs ``soundfile``. Buffer ``audio`` ``(1, frequency, time)`` uint8, plus
    ``audio_length`` ``(1,)`` uint32 with ``emit_length`` (the clip's length in samples, at
    most ``max_duration``).

    Augmentation (the first augmentation block when its type is ``audio``; the noise keys are
    also read from the etl config, where aeon 2 kept them): with probability
    ``add_noise_probability`` a clip from ``noise_index_file`` (one path per line, relative
    to ``noise_root``; ``@``/``#`` lines skipped) is mixed in at a random offset with a level
    drawn from ``noise_level``; ``time_scale_fraction`` [min, max] stretches the time axis of
    the features before they are cut to ``time_steps``.
    """

    def __init__(self, config: dict[str, Any], augmentation: dict[str, Any] | None) -> None:
        cfg = check_keys("audio etl", config, _AUDIO_KEYS)
        aug = check_keys("audio augmentation", dict(augmentation or {}), _AUDIO_AUG_KEYS)
        given = set(augmentation or {})

        def pick(key: str) -> Any:
            return aug[key] if key in given else cfg[key]

        self.add_noise_probability = float(pick("add_noise_probability"))
        self.noise_level = _range("noise_level", pick("noise_level"))
        self.time_scale_fraction = _range("time_scale_fraction", pick("time_scale_fraction"))
        self.noise_files = _noise_index(str(pick("noise_index_file")), str(pick("noise_root")))
        self._noise_cache: dict[int, np.ndarray] = {}
        self.feature_type = cfg["feature_type"]
        if self.feature_type not in ("specgram", "mfsc", "mfcc"):
            raise AeonConfigError(
                f"aeon audio feature_type={self.feature_type!r}; expected 'specgram', 'mfsc' or "
                "'mfcc' ('samples' is not provided)."
            )
        rate = int(cfg["sample_freq_hz"])
        self.max_duration = duration_in_samples(cfg["max_duration"], rate)
        self.frame_length = duration_in_samples(cfg["frame_length"], rate)
        self.frame_stride = duration_in_samples(cfg["frame_stride"], rate)
        if self.frame_stride <= 0 or self.frame_length <= 0:
            raise AeonConfigError(
                f"aeon audio frame_length={cfg['frame_length']!r}, frame_stride="
                f"{cfg['frame_stride']!r}; both must be at least one sample."
            )
        self.time_steps = (self.max_duration - self.frame_length) // self.frame_stride + 1
        self.num_cepstra = int(cfg["num_cepstra"])
        self.window = window(cfg["window_type"], self.frame_length)
        self.filterbank = None
        if self.feature_type != "specgram":
            self.filterbank = mel_filterbank(int(cfg["num_filters"]), self.frame_length, rate)
        freq = {
            "specgram": self.frame_length // 2 + 1,
            "mfsc": int(cfg["num_filters"]),
            "mfcc": self.num_cepstra,
        }[self.feature_type]
        prefix = cfg["name"] + "." if cfg["name"] else ""
        self.name = prefix + "audio"
        self.axes = (("channels", 1), ("frequency", freq), ("time", self.time_steps))
        self.emit_length = bool(cfg["emit_length"])
        self.length_name = prefix + "audio_length"
        import_decoder("soundfile", "audio")

    def load(self, data: bytes, rng: np.random.Generator) -> list[np.ndarray]:
        """Decode one clip, augment it and return its buffers (features, and the length with
        ``emit_length``)."""
        soundfile = import_decoder("soundfile", "audio")
        samples, _ = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
        if self.noise_files and rng.random() < self.add_noise_probability:
            pick = int(rng.integers(0, 2**32)) % len(self.noise_files)
            offset, level = rng.random(), rng.uniform(*self.noise_level)
            if samples.shape[1] != 1:
                raise AeonConfigError(
                    f"aeon audio noise mixing needs mono clips; got {samples.shape[1]} channels."
                )
            samples = mix_noise(samples[:, 0], self._noise(pick), offset, level)[:, None]
        fraction = rng.uniform(*self.time_scale_fraction)
        feats = features(
            samples,
            self.frame_length,
            self.frame_stride,
            self.time_steps,
            self.feature_type,
            self.window,
            self.filterbank,
            self.num_cepstra,
        )
        feats = time_scale(feats, fraction)  # scaled to [0, 255] before the cut, as in aeon
        lo, hi = (float(feats.min()), float(feats.max())) if feats.size else (0.0, 0.0)
        scale = 255.0 / (hi - lo) if hi - lo > np.finfo(np.float64).eps else 0.0
        scaled = np.clip(np.rint((feats.astype(np.float64) - lo) * scale), 0, 255).astype(np.uint8)
        padded = np.zeros((self.time_steps, self.axes[1][1]), dtype=np.uint8)
        valid = scaled[: self.time_steps]
        padded[: valid.shape[0]] = valid
        out = [padded.T[::-1][None].copy()]
        if self.emit_length:
            out.append(np.array([min(samples.shape[0], self.max_duration)], dtype=np.uint32))
        return out

    def _noise(self, index: int) -> np.ndarray:
        if index not in self._noise_cache:
            soundfile = import_decoder("soundfile", "audio")
            noise, _ = soundfile.read(self.noise_files[index], dtype="int16", always_2d=True)
            self._noise_cache[index] = noise[:, 0]
        return self._noise_cache[index]


def _noise_index(index_file: str, root: str) -> list[str]:
    if not index_file:
        return []
    try:
        with open(index_file, encoding="utf-8") as f:
            lines = [ln.split("\t")[0].strip() for ln in f]
    except OSError:
        raise AeonConfigError(
            f"aeon audio noise_index_file {index_file!r} cannot be read; expected a file with "
            "one noise clip path per line."
        ) from None
    paths = [os.path.join(root, ln) if root else ln for ln in lines if ln and ln[0] not in "@#"]
    if not paths:
        raise AeonConfigError(f"aeon audio noise_index_file {index_file!r} lists no clips.")
    return paths
