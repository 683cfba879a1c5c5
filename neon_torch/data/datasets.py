"""neon's downloadable ``Dataset`` base: files in the data directory, fetched when absent.

``Dataset(filename, url, size, path='.', subset_pct=100)``: ``load_data()`` reads
``<path>/<filename>`` (downloading ``<url>/<filename>`` first when it is absent),
``gen_iterators()`` returns ``{'train': ..., 'valid': ...}`` and ``train_iter`` /
``valid_iter`` / ``test_iter`` read that dict. Set ``NEON_TORCH_OFFLINE=1`` to never touch the
network; an absent file then (or when the download fails) raises :class:`DatasetFileError`
saying which file to put where.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
import zipfile
from typing import Any

from ..errors import NeonTorchError
from ..registry import neon_type

__all__ = ["Dataset", "DatasetFileError", "DatasetFormatError"]


class DatasetFileError(NeonTorchError, FileNotFoundError):
    """A dataset file that is absent and could not be downloaded."""


class DatasetFormatError(NeonTorchError, ValueError):
    """A dataset file that is not in the format neon's loader reads."""


@neon_type("neon.data.datasets.Dataset", "neon.data.Dataset")
class Dataset:
    """Base class of neon's downloadable datasets (see the module docstring)."""

    def __init__(
        self, filename: str, url: str, size: int, path: str = ".", subset_pct: float = 100
    ) -> None:
        self.filename = filename
        self.url = url
        self.size = size
        self.path = os.path.expanduser(path)
        self.subset_pct = subset_pct
        self._data_dict: dict[str, Any] | None = None

    @staticmethod
    def _valid_path_append(path: str, *args: str) -> str | list[str]:
        """neon's helper: create directory ``path`` (``~`` expanded) and join each of ``args``
        to it. Returns ``path`` itself without ``args``, the one joined path for one, and a
        list of joined paths for several (``workdir, filepath = ...('', name)``)."""
        full = os.path.expanduser(path)
        if os.path.exists(full) and not os.path.isdir(full):
            raise DatasetFileError(f"Data path {path!r} is not a directory; pass a directory.")
        os.makedirs(full, exist_ok=True)
        joined = [os.path.join(full, a) for a in args]
        if not joined:
            return path
        return joined[0] if len(joined) == 1 else joined

    def filepath(self, filename: str | None = None) -> str:
        """Where ``filename`` (default: the dataset's file) lives, downloaded if absent."""
        name = filename or self.filename
        dest = os.path.join(self._valid_path_append(self.path), name)  # type: ignore[arg-type]  # filename set by the subclass
        if not os.path.exists(dest):
            self.fetch_dataset(self.url, name, dest, self.size)
        return dest

    @staticmethod
    def fetch_dataset(url: str, sourcefile: str, destfile: str, totalsz: int) -> None:
        """Download ``url/sourcefile`` to ``destfile`` (via a temporary file).

        Raises:
            DatasetFileError: offline (``NEON_TORCH_OFFLINE=1``) or the download failed.
        """
        source = f"{url.rstrip('/')}/{sourcefile}"
        hint = (
            f"Put {sourcefile} ({totalsz} bytes, from {source}) at {destfile}, or pass the "
            "directory holding it as the data path (-w/--data_dir)."
        )
        if os.environ.get("NEON_TORCH_OFFLINE", "") not in ("", "0"):
            raise DatasetFileError(f"{destfile} is missing and NEON_TORCH_OFFLINE is set. {hint}")
        tmp = f"{destfile}.part"
        try:
            with urllib.request.urlopen(source, timeout=30) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, ValueError) as err:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise DatasetFileError(
                f"{destfile} is missing and the download failed ({err}). {hint}"
            ) from None
        os.replace(tmp, destfile)

    def load_zip(self, filename: str, size: int) -> str:
        """neon's helper: the path of ``filename`` under ``path`` (downloaded when absent); a
        ``.zip`` archive is extracted into ``path`` and the path without ``.zip`` returned.

        Raises:
            DatasetFormatError: the archive is not a readable zip file.
        """
        dest = self.filepath(filename)
        if ".zip" not in dest:
            return dest
        try:
            with zipfile.ZipFile(dest) as archive:
                archive.extractall(os.path.dirname(dest))  # drops absolute and '..' parts
        except zipfile.BadZipFile as err:
            raise DatasetFormatError(f"{dest} is not a readable zip archive ({err}).") from None
        return dest.split(".zip")[0]

    def load_data(self) -> Any:
        """Read the dataset's arrays (subclasses)."""
        raise NotImplementedError

    def gen_iterators(self) -> dict[str, Any]:
        """Build the iterators dict (subclasses)."""
        raise NotImplementedError

    @property
    def data_dict(self) -> dict[str, Any]:
        """The iterators, built on first use."""
        if self._data_dict is None:
            self._data_dict = self.gen_iterators()
        return self._data_dict

    @property
    def train_iter(self) -> Any:
        """The training iterator."""
        return self.data_dict["train"]

    @property
    def valid_iter(self) -> Any:
        """The validation iterator."""
        return self.data_dict["valid"]

    @property
    def test_iter(self) -> Any:
        """The test iterator (datasets that have one)."""
        return self.data_dict["test"]
