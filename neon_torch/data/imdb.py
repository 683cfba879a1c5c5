"""neon's ``IMDB`` sentiment dataset, read from ``imdb.pkl`` (a pickle of ``(X, labels)``)."""

from __future__ import annotations

from typing import Any

from ..registry import neon_type
from .dataiterator import ArrayIterator
from .datasets import Dataset
from .text_preprocessing import pad_data

__all__ = ["IMDB"]


@neon_type("neon.data.text.IMDB", "neon.data.IMDB")
class IMDB(Dataset):
    """``IMDB(vocab_size, sentence_length, path='.')``: ``pad_data`` of ``imdb.pkl`` (seed 113,
    20 % test); ``data_dict = {'nclass', 'train', 'test'}`` with ``ArrayIterator(X, y,
    nclass=2)`` (``shape = sentence_length``, token ids for a ``LookupTable``)."""

    def __init__(self, vocab_size: int, sentence_length: int, path: str = ".") -> None:
        super().__init__("imdb.pkl", "https://s3.amazonaws.com/text-datasets", 33213513, path)
        self.vocab_size = vocab_size
        self.sentence_length = sentence_length

    def load_data(self) -> Any:
        """``(X_train, y_train), (X_test, y_test), nclass`` (see :func:`pad_data`)."""
        return pad_data(self.filepath(), self.vocab_size, self.sentence_length)

    def gen_iterators(self) -> dict[str, Any]:
        (x_train, y_train), (x_test, y_test), nclass = self.load_data()
        return {
            "nclass": nclass,
            "train": ArrayIterator(x_train, y_train, nclass=2),
            "test": ArrayIterator(x_test, y_test, nclass=2),
        }
