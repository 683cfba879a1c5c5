"""aeon's ``video`` etl: every frame of a clip (PyAV decodes) goes through the image etl with
one set of augmentation draws per clip; the buffer is ``(channels, frames, height, width)``.

aeon decoded Motion-JPEG AVI files; PyAV reads those and any other format FFmpeg knows.
Frames beyond ``max_frame_count`` are dropped and missing ones are zero frames.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._config import AeonConfigError, check_keys, import_decoder
from .image import ImageAugmentation, ImageETL, ImageParams

__all__ = ["VideoETL"]

_VIDEO_KEYS: dict[str, Any] = {"type": "video", "name": "", "max_frame_count": None, "frame": None}


class VideoETL:
    """aeon's ``{"type": "video", "max_frame_count": F, "frame": {image etl keys}}``.

    Buffer ``video`` ``(C, F, H, W)`` uint8, channels in BGR order; axes ``channels, frames,
    height, width``. The augmentation is the ``frame`` entry of the config's first
    augmentation block (aeon's rule), drawn once per clip from the first frame's size.
    """

    def __init__(self, config: dict[str, Any], augmentation: dict[str, Any] | None) -> None:
        cfg = check_keys("video etl", config, _VIDEO_KEYS)
        if not isinstance(cfg["frame"], dict):
            raise AeonConfigError(
                f"aeon video etl frame={cfg['frame']!r}; expected an image etl dict such as "
                "{'height': 112, 'width': 112}."
            )
        self.max_frame_count = int(cfg["max_frame_count"])
        if self.max_frame_count <= 0:
            raise AeonConfigError(
                f"aeon video etl max_frame_count={cfg['max_frame_count']!r}; expected a positive "
                "number of frames."
            )
        frame_aug = (augmentation or {}).get("frame")
        self.aug = ImageAugmentation(frame_aug)
        self.frame = ImageETL({"type": "image", **cfg["frame"]}, self.aug)
        if not self.frame.channel_major:
            raise AeonConfigError(
                "aeon video etl frame channel_major=False; aeon's video buffer is channel-major "
                "(channels, frames, height, width). Remove channel_major."
            )
        self.name = (cfg["name"] + "." if cfg["name"] else "") + "video"
        c, h, w = (n for _, n in self.frame.axes)
        self.axes = (("channels", c), ("frames", self.max_frame_count), ("height", h), ("width", w))
        import_decoder("av", "video")

    def decode(self, data: bytes) -> list[Any]:
        """The clip's frames as Pillow images (at most ``max_frame_count``)."""
        av = import_decoder("av", "video")
        frames: list[Any] = []
        mode = "L" if self.frame.channels == 1 else "RGB"
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_image().convert(mode))
                if len(frames) == self.max_frame_count:
                    break
        if not frames:
            raise AeonConfigError("aeon video record holds no decodable video frame.")
        return frames

    def make_params(self, rng: np.random.Generator, frames: list[Any]) -> ImageParams:
        """One set of draws for the whole clip."""
        w, h = frames[0].size
        return self.aug.make_params(rng, w, h, self.frame.width, self.frame.height)

    def transform(self, frames: list[Any], params: ImageParams) -> np.ndarray:
        """``(C, max_frame_count, H, W)`` with zero frames after the clip's last one."""
        out = np.zeros(tuple(n for _, n in self.axes), dtype=self.frame.dtype)
        for i, frame in enumerate(frames):
            out[:, i] = self.frame.transform(frame, params)
        return out
