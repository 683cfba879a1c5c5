"""neon's ``neon.data.text_preprocessing``: padding and the IMDB preparation.

``pad_data`` reproduces neon exactly, including its side effect: numpy's **global** RNG is
seeded with ``seed`` before shuffling X and again before shuffling y (same permutation).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "clean_string",
    "get_google_word2vec_W",
    "get_paddedXY",
    "pad_data",
    "pad_sentences",
]


def clean_string(base: str) -> str:
    """Lower-case ``base``, keep letters, digits and basic punctuation, split clitics."""
    base = re.sub(r"[^A-Za-z0-9(),!?\'\`]", " ", base)
    for pattern, repl in (
        ("'s", " 's"),
        ("'ve", " 've"),
        ("n't", " n't"),
        ("'re", " 're"),
        ("'d", " 'd"),
        ("'ll", " 'll"),
    ):
        base = base.replace(pattern, repl)
    for char in ",!()?":
        base = base.replace(char, f" {char} ")
    return re.sub(r"\s{2,}", " ", base).strip().lower()


def pad_sentences(
    sentences: Sequence[Sequence[int]],
    sentence_length: int | None = None,
    dtype: Any = np.int32,
    pad_val: float = 0.0,
) -> np.ndarray:
    """``(n, sentence_length)`` ids: each sentence's last ``sentence_length`` tokens,
    left-padded with ``pad_val`` (length: the longest sentence when None)."""
    if sentence_length is None:
        sentence_length = max((len(s) for s in sentences), default=0)
    out = np.full((len(sentences), sentence_length), pad_val).astype(dtype)
    for i, sentence in enumerate(sentences):
        kept = list(sentence)[-sentence_length:] if sentence_length else []
        if kept:
            out[i, -len(kept) :] = kept
    return out


def _transform(
    X: list, vocab_size: int | None, oov: int | None, start: int | None, index_from: int
) -> list:
    X = [([start] if start is not None else []) + [w + index_from for w in x] for x in X]
    if not vocab_size:
        vocab_size = max(max(x) for x in X)
    if oov is not None:
        return [[oov if w >= vocab_size else w for w in x] for x in X]
    return [[w for w in x if w < vocab_size] for x in X]


def get_paddedXY(
    X: Sequence[Sequence[int]],
    y: Sequence[int],
    vocab_size: int = 20000,
    sentence_length: int = 100,
    oov: int = 2,
    start: int = 1,
    index_from: int = 3,
    seed: int = 113,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``pad_data``'s transformation of given ``X``, ``y`` (optionally shuffled the same way)."""
    X, y = list(X), list(y)
    if shuffle:
        np.random.seed(seed)
        np.random.shuffle(X)
        np.random.seed(seed)
        np.random.shuffle(y)
    padded = pad_sentences(_transform(X, vocab_size, oov, start, index_from), sentence_length)
    return padded, np.array(y, dtype=np.int32).reshape(len(y), 1)


def pad_data(
    path: str,
    vocab_size: int = 20000,
    sentence_length: int = 100,
    oov: int = 2,
    start: int = 1,
    index_from: int = 3,
    seed: int = 113,
    test_split: float = 0.2,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Read ``(X, labels)`` from the pickle ``path`` (``.gz`` aware; restricted unpickler),
    shuffle, prepend ``start``, add ``index_from``, map ids ``>= vocab_size`` to ``oov``,
    pad; the first ``1 - test_split`` is train. Returns ``(X_train, y_train), (X_test,
    y_test), nclass`` with ``nclass = 1 + max label``."""
    from ..errors import NeonTorchError
    from ..serialization.legacy_pickle import load_pickle
    from .datasets import DatasetFormatError

    opener: Any = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = load_pickle(f, path)
        X, labels = data
        X, labels = [list(map(int, x)) for x in X], [int(v) for v in labels]
    except (OSError, NeonTorchError, TypeError, ValueError) as err:
        raise DatasetFormatError(
            f"{path}: expected a pickle of (X, labels) with X a list of token-id lists ({err})."
        ) from None
    X_all, y = get_paddedXY(X, labels, vocab_size, sentence_length, oov, start, index_from, seed)
    split = int(len(X_all) * (1 - test_split))
    nclass = 1 + int(y.max())
    return (X_all[:split], y[:split]), (X_all[split:], y[split:]), nclass


def get_google_word2vec_W(
    fname: str, vocab: dict[Any, int], vocab_size: int = 1000000, index_from: int = 3
) -> tuple[np.ndarray, int, int]:
    """An embedding matrix for ``vocab`` from a word2vec binary file (Google's format).

    neon semantics: the result has ``min(len(vocab) + index_from, vocab_size)`` rows of the
    file's ``embedding_dim`` (float64); word ``w`` goes to row ``vocab[w] + index_from`` (the
    first ``index_from`` rows are reserved: pad, out-of-vocabulary, ...); rows of words the
    file lacks are drawn from ``np.random.uniform(-0.25, 0.25)`` (numpy's global RNG), in row
    order. Returns ``(W, embedding_dim, vocab_size)``.

    The file is a text header ``"<count> <dim>\\n"`` followed, for each word, by the word, a
    space and ``dim`` little-endian float32 values (newlines between records are skipped).
    neon_torch decodes words as UTF-8 and matches them against ``str`` or ``bytes`` keys; neon
    2.6 under Python 3 compared bytes with str keys and matched none of them.
    """
    with open(fname, "rb") as f:
        header = f.readline().split()
        if len(header) != 2:
            raise ValueError(f"{fname}: expected a word2vec header '<count> <dim>'.")
        count, dim = int(header[0]), int(header[1])
        nrows = min(len(vocab) + index_from, vocab_size)
        W = np.zeros((nrows, dim))
        found: set[int] = set()
        record = 4 * dim
        for _ in range(count):
            word = bytearray()
            while (ch := f.read(1)) != b" ":
                if not ch:
                    raise ValueError(f"{fname}: the file ends inside a word.")
                if ch != b"\n":
                    word += ch
            vector = f.read(record)
            if len(vector) != record:
                raise ValueError(f"{fname}: the file ends inside a vector.")
            key = bytes(word)
            index = vocab.get(key.decode("utf-8", "replace"), vocab.get(key))
            if index is not None and index + index_from < nrows:
                W[index + index_from] = np.frombuffer(vector, dtype="<f4")
                found.add(index + index_from)
    for row in range(nrows):
        if row not in found:
            W[row] = np.random.uniform(-0.25, 0.25, dim)
    return W, dim, nrows
