"""aeon's ``label`` etl and the table from etl ``type`` to provider."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ...errors import UnsupportedNeonFeature
from ._config import AeonConfigError, check_keys
from .audio import AudioETL
from .image import ImageAugmentation, ImageETL, PixelMaskETL
from .manifest import read_element
from .video import VideoETL

__all__ = ["CharMapETL", "LabelETL", "Provider", "make_provider"]

_LABEL_KEYS: dict[str, Any] = {
    "type": "label",
    "name": "",
    "binary": False,
    "output_type": "uint32_t",
}
_INT_TYPES = {
    "uint32_t": np.uint32,
    "int32_t": np.int32,
    "uint8_t": np.uint8,
    "int64_t": np.int64,
    "float": np.float32,
}


class LabelETL:
    """aeon's ``label`` etl: the element's text parsed as an integer (``binary``: 4 bytes,
    little-endian int32), emitted as a ``(1,)`` buffer of ``output_type`` (default uint32).
    Buffer name ``label``; axes ``(('0', 1),)`` (aeon named unnamed axes by position)."""

    def __init__(self, config: dict[str, Any]) -> None:
        cfg = check_keys("label etl", config, _LABEL_KEYS)
        if cfg["output_type"] not in _INT_TYPES:
            raise AeonConfigError(
                f"aeon label etl output_type={cfg['output_type']!r}; expected one of "
                f"{sorted(_INT_TYPES)}."
            )
        self.dtype = _INT_TYPES[cfg["output_type"]]
        self.binary = bool(cfg["binary"])
        self.name = (cfg["name"] + "." if cfg["name"] else "") + "label"
        self.axes = (("0", 1),)

    def load(self, data: bytes) -> list[np.ndarray]:
        """The label buffer of one record."""
        if self.binary:
            if len(data) != 4:
                raise AeonConfigError(
                    f"aeon binary label of {len(data)} bytes; expected 4 (an int32). Set "
                    "binary=False for labels written as text."
                )
            value = struct.unpack("<i", data)[0]
        else:
            text = data.decode(errors="replace").strip()
            try:
                value = int(text)
            except ValueError:
                raise AeonConfigError(
                    f"aeon label {text!r} is not an integer; expected the class index as text "
                    "(or binary=True for 4-byte int32 labels)."
                ) from None
        return [np.array([value]).astype(self.dtype)]


class CharMapETL:
    """aeon's ``char_map`` etl: a transcript (the element's text) mapped to the indices of its
    characters in ``alphabet`` (case-insensitive: both sides upper-cased), at most
    ``max_length`` of them, zero-padded. Characters outside the alphabet become
    ``unknown_value`` when it is non-zero and are dropped otherwise. Buffer ``char_map``
    ``(1, max_length)`` uint32; with ``emit_length`` also ``char_map_length`` ``(1,)``: the
    transcript's length in bytes, at most ``max_length`` (aeon's count)."""

    def __init__(self, config: dict[str, Any]) -> None:
        cfg = check_keys("char_map etl", config, _CHAR_MAP_KEYS)
        self.max_length = int(cfg["max_length"])
        alphabet = str(cfg["alphabet"])
        upper = alphabet.upper()
        if len(set(upper)) != len(upper) or self.max_length <= 0:
            raise AeonConfigError(
                f"aeon char_map etl alphabet={alphabet!r}, max_length={cfg['max_length']!r}; "
                "expected an alphabet without repeated characters and a positive max_length."
            )
        self.unknown_value = int(cfg["unknown_value"])
        if 0 < self.unknown_value < len(upper):
            raise AeonConfigError(
                f"aeon char_map etl unknown_value={self.unknown_value}; expected 0 or a value "
                f">= the alphabet's length ({len(upper)})."
            )
        self.index = {c: i for i, c in enumerate(upper)}
        prefix = cfg["name"] + "." if cfg["name"] else ""
        self.name, self.length_name = prefix + "char_map", prefix + "char_map_length"
        self.emit_length = bool(cfg["emit_length"])
        self.axes = (("character", 1), ("sequence", self.max_length))

    def load(self, data: bytes) -> list[np.ndarray]:
        """The transcript's index buffer (and its length with ``emit_length``)."""
        valid = min(len(data), self.max_length)
        text = data[:valid].decode(errors="ignore").upper()
        codes = [
            self.index.get(ch, self.unknown_value)
            for ch in text
            if ch in self.index or self.unknown_value
        ]
        out = np.zeros((1, self.max_length), dtype=np.uint32)
        out[0, : len(codes)] = codes
        if self.emit_length:
            return [out, np.array([valid], dtype=np.uint32)]
        return [out]


_CHAR_MAP_KEYS: dict[str, Any] = {
    "type": "char_map",
    "name": "",
    "max_length": None,
    "alphabet": None,
    "unknown_value": 0,
    "emit_length": False,
    "output_type": "uint32_t",
}


class Provider:
    """One etl entry: its buffer names and axes, and ``load(kind, value, rng, shared)`` ->
    buffers.

    The spatial etls of one record (image, pixelmask, video) share one set of augmentation
    draws, made by the first of them from its input's size (``shared``), as aeon did.
    """

    def __init__(self, etl: Any, image_aug: ImageAugmentation | None = None) -> None:
        self.etl = etl
        self.image_aug = image_aug
        self.names = [etl.name] + ([etl.length_name] if getattr(etl, "emit_length", False) else [])
        self.axes = [etl.axes] + ([(("0", 1),)] if len(self.names) > 1 else [])

    def load(
        self, kind: str, value: str, rng: np.random.Generator, shared: dict[str, Any]
    ) -> list[np.ndarray]:
        """Decode, augment and lay out one manifest element of type ``kind``."""
        if isinstance(self.etl, ImageETL):  # Pillow reads FILE elements from their path
            img = self.etl.decode(value if kind == "FILE" else read_element(kind, value))
            if "params" not in shared:
                shared["params"] = self.image_aug.make_params(  # type: ignore[union-attr]  # set with the image etl
                    rng, img.size[0], img.size[1], self.etl.width, self.etl.height
                )
            return [self.etl.transform(img, shared["params"])]
        data = read_element(kind, value)
        if isinstance(self.etl, VideoETL):
            frames = self.etl.decode(data)
            if "params" not in shared:
                shared["params"] = self.etl.make_params(rng, frames)
            return [self.etl.transform(frames, shared["params"])]
        if isinstance(self.etl, AudioETL):
            return self.etl.load(data, rng)
        return self.etl.load(data)


_LATER = (
    "localization_rcnn",
    "localization_ssd",
    "boundingbox",
    "blob",
    "label_map",
    "depthmap",
)


def make_provider(etl: dict[str, Any], augmentation: list[dict[str, Any]]) -> Provider:
    """The provider for one etl entry, given the config's augmentation blocks."""
    kind = etl.get("type")
    # aeon handed the first augmentation block to every etl; each used it if it was its type
    first = dict(augmentation[0]) if augmentation else {}
    if kind == "image":
        image_aug = ImageAugmentation(first if first.get("type") == "image" else None)
        return Provider(ImageETL(etl, image_aug), image_aug)
    if kind == "video":
        return Provider(VideoETL(etl, first))
    if kind == "pixelmask":
        mask_aug = ImageAugmentation(first if first.get("type") == "image" else None)
        return Provider(PixelMaskETL(etl, mask_aug), mask_aug)
    if kind == "char_map":
        return Provider(CharMapETL(etl))
    if kind == "label":
        return Provider(LabelETL(etl))
    if kind == "audio":
        return Provider(AudioETL(etl, first if first.get("type") == "audio" else None))
    if kind in _LATER:
        raise UnsupportedNeonFeature(
            f"aeon etl type {kind!r} is not provided by neon_torch yet (image, label, audio, "
            "video, pixelmask and char_map are); use a torch DataLoader for this dataset."
        )
    raise AeonConfigError(
        f"aeon etl entry {etl!r} has type {kind!r}; expected 'image', 'label', 'audio', "
        f"'video', 'pixelmask', 'char_map' (or aeon's {list(_LATER)})."
    )
