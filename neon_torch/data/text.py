"""neon's language-model iterator ``Text``: characters or tokens of one text file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.backend import current_backend
from ..errors import NeonTorchError, ShapeMismatchError
from ..registry import neon_type
from .dataiterator import NervanaDataIterator

__all__ = ["Text", "VocabularyError"]


class VocabularyError(NeonTorchError, ValueError):
    """A text token that is missing from the vocabulary given to ``Text``."""


@neon_type("neon.data.text.Text", "neon.data.Text")
class Text(NervanaDataIterator):
    """Minibatches of a text for next-token prediction, with neon's layout.

    neon semantics:

    * tokens are the characters of the file (``tokenizer=None``) or ``tokenizer(text)``; the
      stream is cut to a multiple of ``be.bsz · time_steps``; ``nbatches`` = that multiple,
      ``ndata = nbatches · bsz`` sequences, ``seq_length = time_steps``;
    * ``vocab = sorted(set(tokens))`` (or the given vocab, which must hold every token);
      ``nclass = nout = len(vocab)``, ``token_to_index`` / ``index_to_token``;
    * targets are the next token (cyclic: the last target is the first token); with
      ``reverse_target=True`` they are the inputs reversed in time;
    * the stream is laid out ``(bsz, nbatches, T)``: sample n of minibatch k is
      ``X[n, k, :]``, so each row of consecutive minibatches continues its own contiguous chunk
      of the text (what stateful recurrent layers rely on);
    * ``onehot_input=True``: ``shape = (nclass, T)``; otherwise ``shape = (T, 1)`` and the
      inputs are token ids (for a ``LookupTable``); targets are always one-hot;
    * ``get_prev_target=True`` yields ``((x, z), y)`` with ``z`` the targets delayed by one
      step (step 0 all-zero, or token id 0), and sets ``decoder_shape = shape``;
    * every pass starts at minibatch 0.

    neon_torch: the token ids are staged on the backend's device once; minibatches are
    batch-first: one-hot inputs ``(bsz, T, nclass)``, token ids ``(bsz, 1, T)`` (neon's
    ``(T, 1)`` sample shape), targets ``(bsz, T, nclass)``. Inputs carry a ``neon_source``
    attribute (this iterator), so a stateful recurrent layer reading them directly zeroes its
    state when it is switched to another dataset, as neon's buffer check does.

    Raises:
        ShapeMismatchError: the text has fewer tokens than one minibatch needs.
        VocabularyError: ``vocab`` misses a token of the text.
    """

    def __init__(
        self,
        time_steps: int,
        path: str,
        vocab: Sequence[Any] | None = None,
        tokenizer: Callable[[str], Sequence[Any]] | None = None,
        onehot_input: bool = True,
        reverse_target: bool = False,
        get_prev_target: bool = False,
    ) -> None:
        super().__init__()
        self.time_steps = self.seq_length = int(time_steps)
        self.path = path
        self.tokenizer = tokenizer
        self.onehot_input = onehot_input
        self.reverse_target = reverse_target
        self.get_prev_target = get_prev_target
        self.batch_index = 0
        with open(path, encoding="utf-8") as f:
            text = f.read()
        tokens = text if tokenizer is None else tokenizer(text)
        bsz = self._bsz()
        per_batch = bsz * self.time_steps
        if len(tokens) < per_batch:
            raise ShapeMismatchError(
                f"Text({path!r}): {len(tokens)} tokens are fewer than one minibatch needs "
                f"(be.bsz {bsz} x time_steps {self.time_steps} = {per_batch}); use a shorter "
                "time_steps, a smaller batch size or a longer text."
            )
        tokens = tokens[: len(tokens) - len(tokens) % per_batch]
        self._nbatches = len(tokens) // per_batch
        self.ndata = self._nbatches * bsz
        self.vocab = sorted(self._vocabulary(tokens, vocab))
        self.nclass = self.nout = len(self.vocab)
        self.token_to_index = {t: i for i, t in enumerate(self.vocab)}
        self.index_to_token = dict(enumerate(self.vocab))
        ids = np.asarray([self.token_to_index[t] for t in tokens], dtype=np.int64)
        targets = ids if reverse_target else np.concatenate((ids[1:], ids[:1]))
        layout = (bsz, self._nbatches, self.time_steps)
        self.X = ids.reshape(layout)
        self.y = targets.reshape(layout)
        if reverse_target:
            self.y = self.y[:, :, ::-1].copy()
        self.shape: Any = (self.nclass, self.time_steps) if onehot_input else (self.time_steps, 1)
        if get_prev_target:
            self.decoder_shape = self.shape
        self._device: torch.device | None = None

    @staticmethod
    def _vocabulary(tokens: Sequence[Any], vocab: Sequence[Any] | None) -> set[Any]:
        present = set(tokens)
        if vocab is None:
            return present
        missing = present - set(vocab)
        if missing:
            example = sorted(map(repr, missing))[:5]
            raise VocabularyError(
                f"Text: {len(missing)} token(s) of the text are not in the given vocab, e.g. "
                f"{', '.join(example)}. Pass a vocab that holds every token (e.g. the training "
                "set's vocab built from all texts)."
            )
        return set(vocab)

    @staticmethod
    def create_valid_file(path: str, valid_split: float = 0.1) -> tuple[str, str]:
        """Split a text file by characters into ``<name>_train<ext>`` and ``<name>_valid<ext>``
        (the last ``valid_split`` of the text); returns both paths (neon's helper)."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        stem, ext = os.path.splitext(path)
        split = int(len(text) * (1 - valid_split))
        paths = (f"{stem}_train{ext}", f"{stem}_valid{ext}")
        for out, part in zip(paths, (text[:split], text[split:]), strict=True):
            with open(out, "w", encoding="utf-8") as f:
                f.write(part)
        return paths

    @staticmethod
    def _bsz() -> int:
        bsz = current_backend().bsz
        if bsz <= 0:
            raise ValueError("be.bsz is 0; pass batch_size to gen_backend (or set be.bsz).")
        return bsz

    @property  # type: ignore[misc]  # computed here, never assigned
    def nbatches(self) -> int:
        """Minibatches per pass (neon: a plain attribute)."""
        return self._nbatches

    def reset(self) -> None:
        """Go back to minibatch 0 (every pass starts there anyway)."""
        self.batch_index = 0

    def _stage(self) -> None:
        be = current_backend()
        if self._device != be.device:
            self._x = torch.as_tensor(self.X, device=be.device)
            self._y = torch.as_tensor(self.y, device=be.device)
            self._device = be.device

    def _onehot(self, ids: torch.Tensor) -> torch.Tensor:
        return F.one_hot(ids, self.nclass).to(current_backend().torch_dtype)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        self._stage()
        self.batch_index = 0
        while self.batch_index < self._nbatches:
            k = self.batch_index
            ids, target_ids = self._x[:, k], self._y[:, k]  # (bsz, T)
            x = self._onehot(ids) if self.onehot_input else ids.unsqueeze(1)
            t = self._onehot(target_ids)
            # a stateful first recurrent layer resets on a new source
            x.neon_source = self  # type: ignore[attr-defined]  # a marker on the torch tensor
            self.batch_index += 1
            if self.get_prev_target:
                yield (x, self._previous(t, target_ids)), t
            else:
                yield x, t

    def _previous(self, t: torch.Tensor, target_ids: torch.Tensor) -> torch.Tensor:
        """Targets delayed by one step (neon's decoder inputs)."""
        if self.onehot_input:
            return torch.cat([torch.zeros_like(t[:, :1]), t[:, :-1]], dim=1)
        prev = torch.cat([torch.zeros_like(target_ids[:, :1]), target_ids[:, :-1]], dim=1)
        return prev.unsqueeze(1)
