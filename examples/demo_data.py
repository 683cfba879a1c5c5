"""Small embedded datasets for the examples (no download): synthetic digits, text and
sequences, in the shapes neon's MNIST, PTB and IMDB loaders return."""

from __future__ import annotations

import os

import numpy as np

from neon_torch.demo import synthetic_digits


def digits(ntrain: int = 512, ntest: int = 128):
    """``(X_train, y_train), (X_test, y_test), 10`` like ``MNIST.load_data()`` (X in [0, 1])."""
    return synthetic_digits(ntrain, seed=1), synthetic_digits(ntest, seed=2), 10


def sentiment(n: int = 384, sentence_length: int = 16, vocab_size: int = 50, seed: int = 0):
    """Token-id sentences ``(n, sentence_length)`` and 0/1 labels, like ``IMDB.load_data()``:
    label 1 sentences use more ids from the upper half of the vocabulary."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    low = rng.randint(3, vocab_size // 2, size=(n, sentence_length))
    high = rng.randint(vocab_size // 2, vocab_size, size=(n, sentence_length))
    pick = rng.rand(n, sentence_length) < np.where(y[:, None] == 1, 0.7, 0.3)
    X = np.where(pick, high, low).astype(np.int32)
    split = int(n * 0.75)
    return (X[:split], y[:split].reshape(-1, 1)), (X[split:], y[split:].reshape(-1, 1)), 2


def text_file(directory: str, nchars: int = 6000) -> str:
    """Write a small repetitive text corpus to ``directory/demo_text.txt``; returns its path."""
    words = "the quick brown fox jumps over the lazy dog and then sleeps".split()
    rng = np.random.RandomState(0)
    text = " ".join(words[i] for i in rng.randint(len(words), size=nchars // 4))[:nchars]
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "demo_text.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
