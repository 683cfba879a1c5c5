"""aeon's ``image`` etl and ``image`` augmentation, on Pillow-decoded numpy arrays.

Deterministic parts follow aeon's definitions: decoding to BGR (OpenCV's channel order),
the crop box (largest box of the output's aspect ratio, scaled linearly or by area, shifted by
the crop offset, corners rounded half-to-even as OpenCV's ``Rect`` conversion does), resizing
(area averaging when the output is smaller in area, bicubic with OpenCV's kernel ``a = -0.75``
otherwise), contrast/brightness/saturation and lighting arithmetic with uint8 rounding and
saturation, horizontal flip, channel-major ``(C, H, W)`` uint8 output.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...errors import UnsupportedNeonFeature
from ._config import AeonConfigError, check_keys, import_decoder

__all__ = ["ImageAugmentation", "ImageETL", "ImageParams", "PixelMaskETL", "resize"]

_IMAGE_KEYS: dict[str, Any] = {
    "type": "image",
    "name": "",
    "height": None,
    "width": None,
    "channels": 3,
    "channel_major": True,
    "output_type": "uint8_t",
}

_AUG_KEYS: dict[str, Any] = {
    "type": "image",
    "scale": [1.0, 1.0],
    "angle": [0, 0],
    "lighting": [0.0, 0.0],
    "horizontal_distortion": [1.0, 1.0],
    "flip_enable": False,
    "center": True,
    "do_area_scale": False,
    "crop_enable": True,
    "fixed_aspect_ratio": False,
    "fixed_scaling_factor": -1.0,
    "contrast": [1.0, 1.0],
    "brightness": [1.0, 1.0],
    "saturation": [1.0, 1.0],
    "hue": [0, 0],
    "padding": 0,
    "expand_probability": 0.0,
    "expand_ratio": [1.0, 1.0],
    "debug_output_directory": "",
}

_OUTPUT_TYPES = {"uint8_t": np.uint8, "uint8": np.uint8, "float": np.float32, "float32": np.float32}

# Krizhevsky et al.'s ImageNet colour PCA (eigenvectors, BGR rows) and standard deviations,
# the constants aeon's lighting augmentation uses.
_PCA_VECTORS = np.array(
    [
        [0.39731118, 0.70119634, -0.59200296],
        [-0.81698062, -0.02354167, -0.57618440],
        [0.41795513, -0.71257945, -0.56351045],
    ],
    dtype=np.float32,
)
_PCA_STD = np.array([19.72083305, 37.09388853, 121.78006099], dtype=np.float32)
# aeon's grey weights for saturation, in B, G, R order
_GREY = np.array([0.0820, 0.6094, 0.3086], dtype=np.float32)


def _round_u8(x: np.ndarray) -> np.ndarray:
    """OpenCV's ``saturate_cast<uchar>``: round half to even, clip to [0, 255]."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _pair(where: str, key: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise AeonConfigError(
            f"aeon {where} '{key}'={value!r}; expected a [min, max] pair of numbers."
        ) from None
    if lo > hi:
        raise AeonConfigError(f"aeon {where} '{key}'={value!r}; expected min <= max.")
    return lo, hi


def resize(img: Any, width: int, height: int) -> np.ndarray:
    """aeon's resize of a Pillow image to ``width`` x ``height``, as an ``(H, W, C)`` uint8
    array in the image's channel order: unchanged when the size already matches; area
    averaging (Pillow's box filter) when the output area is not larger; bicubic with OpenCV's
    kernel (``a = -0.75``, half-pixel centres, replicated border; torch's ``bicubic`` mode)
    when it is larger."""
    w, h = img.size
    if (w, h) != (width, height) and w * h >= width * height:
        image = import_decoder("PIL.Image", "image")
        img = img.resize((width, height), image.Resampling.BOX)
    arr = np.asarray(img)
    arr = arr.reshape(*arr.shape[:2], -1)
    if arr.shape[:2] == (height, width):
        return arr
    t = torch.from_numpy(np.array(arr)).permute(2, 0, 1)[None].float()
    up = torch.nn.functional.interpolate(
        t, size=(height, width), mode="bicubic", align_corners=False
    )
    return _round_u8(up[0].permute(1, 2, 0).numpy())


@dataclass
class ImageParams:
    """One record's random draws: crop box ``(x, y, w, h)`` in input pixels (None: whole
    image, fitted), flip, photometric factors, the lighting coefficients and the lighting
    standard deviation (aeon divides the shifted pixels by ``1 + stddev``)."""

    cropbox: tuple[int, int, int, int] | None
    flip: bool
    contrast: float
    brightness: float
    saturation: float
    lighting: np.ndarray | None
    lighting_std: float = 0.0


class ImageAugmentation:
    """aeon's ``{"type": "image", ...}`` augmentation block (defaults: no augmentation, centred
    crop of the whole image at the output's aspect ratio).

    Keys: ``scale`` [min, max] (crop side as a fraction of the largest crop of the output's
    aspect ratio, or of its area with ``do_area_scale``), ``crop_enable``, ``center`` (False:
    uniform random crop offset), ``flip_enable`` (horizontal flip with probability 0.5),
    ``horizontal_distortion`` [min, max] (crop aspect ratio multiplier), ``lighting``
    [mean, stddev] (AlexNet PCA colour noise), ``contrast``/``brightness``/``saturation``
    [min, max] multipliers, ``fixed_aspect_ratio`` (with ``crop_enable`` False: scale to fit
    and pad with zeros at the bottom/right). ``angle``, ``hue``, ``padding`` and ``expand_*``
    are accepted only at their defaults.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        cfg = check_keys("image augmentation", dict(config or {}), _AUG_KEYS)
        for key, neutral in (("angle", 0.0), ("hue", 0.0), ("expand_ratio", 1.0)):
            if _pair("image augmentation", key, cfg[key]) != (neutral, neutral):
                raise UnsupportedNeonFeature(
                    f"aeon image augmentation '{key}'={cfg[key]!r} is not provided by neon_torch; "
                    "remove it (rotation, hue shift and expansion are not implemented)."
                )
        if cfg["padding"] or cfg["expand_probability"]:
            raise UnsupportedNeonFeature(
                f"aeon image augmentation padding={cfg['padding']!r} / expand_probability="
                f"{cfg['expand_probability']!r} are not provided by neon_torch; remove them."
            )
        self.scale = _pair("image augmentation", "scale", cfg["scale"])
        self.horizontal_distortion = _pair(
            "image augmentation", "horizontal_distortion", cfg["horizontal_distortion"]
        )
        self.contrast = _pair("image augmentation", "contrast", cfg["contrast"])
        self.brightness = _pair("image augmentation", "brightness", cfg["brightness"])
        self.saturation = _pair("image augmentation", "saturation", cfg["saturation"])
        self.lighting = tuple(float(v) for v in cfg["lighting"])
        self.flip_enable = bool(cfg["flip_enable"])
        self.center = bool(cfg["center"])
        self.do_area_scale = bool(cfg["do_area_scale"])
        self.crop_enable = bool(cfg["crop_enable"])
        self.fixed_aspect_ratio = bool(cfg["fixed_aspect_ratio"])
        self.fixed_scaling_factor = float(cfg["fixed_scaling_factor"])

    def make_params(
        self, rng: np.random.Generator, in_w: int, in_h: int, out_w: int, out_h: int
    ) -> ImageParams:
        """Draw one record's parameters for an ``in_w`` x ``in_h`` input."""
        flip = self.flip_enable and bool(rng.random() < 0.5)
        contrast = float(rng.uniform(*self.contrast))
        brightness = float(rng.uniform(*self.brightness))
        saturation = float(rng.uniform(*self.saturation))
        cropbox = None
        if self.crop_enable:
            image_scale = float(rng.uniform(*self.scale))
            distortion = float(rng.uniform(*self.horizontal_distortion))
            # largest box with the (distorted) output aspect ratio inside the input
            bw, bh = out_w * distortion, float(out_h)
            k = in_w / bw
            bw, bh = bw * k, bh * k
            if bh > in_h:
                k = in_h / bh
                bw, bh = bw * k, bh * k
            if self.do_area_scale:
                if (bw * bh) / (in_w * in_h) > image_scale:
                    area = in_w * in_h * image_scale
                    bw = float(np.sqrt(area * (bw / bh)))
                    bh = area / bw
            else:
                bw, bh = bw * image_scale, bh * image_scale
            xoff, yoff = (0.5, 0.5) if self.center else (rng.random(), rng.random())
            w, h = int(np.rint(bw)), int(np.rint(bh))
            x, y = int(np.rint((in_w - bw) * xoff)), int(np.rint((in_h - bh) * yoff))
            w, h = max(1, min(w, in_w)), max(1, min(h, in_h))
            cropbox = (min(max(x, 0), in_w - w), min(max(y, 0), in_h - h), w, h)
        lighting = None
        if len(self.lighting) == 2 and self.lighting[1] != 0:
            lighting = rng.normal(self.lighting[0], self.lighting[1], 3).astype(np.float32)
        return ImageParams(
            cropbox, flip, contrast, brightness, saturation, lighting, self.lighting[-1]
        )


class ImageETL:
    """aeon's ``image`` etl: decode (Pillow), augment, emit ``(C, H, W)`` (``channel_major``,
    the default) or ``(H, W, C)``, channels in BGR order (OpenCV's), ``output_type`` uint8
    (or float with the same values).

    Buffer name ``image`` (``<name>.image`` with ``name``); axes ``channels, height, width``.
    """

    def __init__(self, config: dict[str, Any], augmentation: ImageAugmentation) -> None:
        cfg = check_keys("image etl", config, _IMAGE_KEYS)
        self.height, self.width = int(cfg["height"]), int(cfg["width"])
        self.channels = int(cfg["channels"])
        if self.height <= 0 or self.width <= 0 or self.channels not in (1, 3):
            raise AeonConfigError(
                f"aeon image etl height={cfg['height']!r}, width={cfg['width']!r}, channels="
                f"{cfg['channels']!r}; expected positive sizes and 1 or 3 channels."
            )
        if cfg["output_type"] not in _OUTPUT_TYPES:
            raise AeonConfigError(
                f"aeon image etl output_type={cfg['output_type']!r}; expected one of "
                f"{sorted(_OUTPUT_TYPES)}."
            )
        self.dtype = _OUTPUT_TYPES[cfg["output_type"]]
        self.channel_major = bool(cfg["channel_major"])
        self.aug = augmentation
        self.name = (cfg["name"] + "." if cfg["name"] else "") + "image"
        if self.channel_major:
            self.axes = (
                ("channels", self.channels),
                ("height", self.height),
                ("width", self.width),
            )
        else:
            self.axes = (
                ("height", self.height),
                ("width", self.width),
                ("channels", self.channels),
            )
        import_decoder("PIL.Image", "image")

    def decode(self, data: bytes | str) -> Any:
        """The decoded Pillow image (from the encoded bytes or a file path), in RGB (or grey
        with ``channels`` 1)."""
        image = import_decoder("PIL.Image", "image")
        with image.open(data if isinstance(data, str) else io.BytesIO(data)) as pil:
            return pil.convert("L" if self.channels == 1 else "RGB")

    def transform(self, pil: Any, p: ImageParams) -> np.ndarray:
        """Crop, resize, colour-jitter, add lighting noise and flip one decoded image; returns
        the output buffer of one record (channels in BGR order)."""
        in_w, in_h = pil.size
        if p.cropbox is not None:
            x, y, w, h = p.cropbox
            img = self._resize(pil.crop((x, y, x + w, y + h)), self.width, self.height)
        else:
            scale = self.aug.fixed_scaling_factor
            if scale <= 0:
                scale = self.width / in_w
                if in_h * scale > self.height:
                    scale = self.height / in_h
            img = self._resize(pil, int(np.rint(in_w * scale)), int(np.rint(in_h * scale)))
        img = img[:, :, ::-1]  # RGB -> BGR, OpenCV's order
        img = self._photometric(img, p)
        if p.flip:
            img = img[:, ::-1]
        h, w = img.shape[:2]
        if (h, w) == (self.height, self.width):
            planes = img.transpose(2, 0, 1) if self.channel_major else img
            return np.array(planes, dtype=self.dtype, order="C")  # a writable copy
        out = np.zeros(self._shape(), dtype=self.dtype)
        if self.aug.fixed_aspect_ratio:
            view = out.transpose(1, 2, 0) if self.channel_major else out
            view[:h, :w] = img
        else:
            # aeon copied the smaller image's planes packed at the start of the buffer
            planes = img.transpose(2, 0, 1) if self.channel_major else img
            out.reshape(-1)[: planes.size] = planes.reshape(-1)
        return out

    @staticmethod
    def _resize(pil: Any, width: int, height: int) -> np.ndarray:
        return resize(pil, width, height)

    def _shape(self) -> tuple[int, int, int]:
        return tuple(v for _, v in self.axes)  # type: ignore[return-value]  # three axes

    @staticmethod
    def _photometric(img: np.ndarray, p: ImageParams) -> np.ndarray:
        if img.shape[2] != 3:
            return img
        if p.brightness != 1.0 or p.saturation != 1.0:
            mix = p.brightness * (
                p.saturation * np.eye(3, dtype=np.float32)
                + (1 - p.saturation) * np.ones((3, 1), np.float32) * _GREY[None, :]
            )
            img = _round_u8(img.astype(np.float32) @ mix.T)
        if p.contrast != 1.0:
            mean = img.reshape(-1, 3).mean(axis=0)
            img = _round_u8(img.astype(np.float32) * p.contrast + (1.0 - p.contrast) * mean)
        if p.lighting is not None:
            shift = _PCA_VECTORS @ (_PCA_STD * p.lighting)
            shifted = _round_u8(img.astype(np.float32) + shift)
            img = _round_u8(shifted.astype(np.float32) / (1.0 + p.lighting_std))
        return img


class PixelMaskETL(ImageETL):
    """aeon's ``pixelmask`` etl: a per-pixel label image (decoded to one grey channel, as
    OpenCV's grey decoding does) cropped and flipped with the same draws as the record's
    image, resized with nearest-neighbour sampling (source pixel ``floor(x * in / out)``),
    without photometric changes. Buffer ``pixelmask`` ``(1, H, W)`` uint8; ``channels`` must
    be 1 (the default here)."""

    def __init__(self, config: dict[str, Any], augmentation: ImageAugmentation) -> None:
        cfg = {"channels": 1, **config, "type": "image"}
        if int(cfg["channels"]) != 1:
            raise AeonConfigError(
                f"aeon pixelmask etl channels={cfg['channels']!r}; a pixel mask has one channel. "
                "Remove 'channels' or set it to 1."
            )
        super().__init__(cfg, augmentation)
        self.name = self.name[: -len("image")] + "pixelmask"

    @staticmethod
    def _resize(pil: Any, width: int, height: int) -> np.ndarray:
        arr = np.asarray(pil)
        h, w = arr.shape[:2]
        rows = np.minimum(np.floor(np.arange(height) * (h / height)).astype(int), h - 1)
        cols = np.minimum(np.floor(np.arange(width) * (w / width)).astype(int), w - 1)
        return arr[rows[:, None], cols[None, :]].reshape(height, width, -1)
