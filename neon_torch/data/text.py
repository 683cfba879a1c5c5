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
from .datasets import DatasetFileError, DatasetFormatError

__all__ = ["Text", "TextNMT", "VocabularyError"]


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
      ``reverse_target=True`` they are the inputs, reversed in time in every minibatch (the
      ``y`` array keeps the reading order);
    * the stream is laid out ``(bsz, nbatches, T)``: sample n of minibatch k is
      ``X[n, k, :]``, so each row of consecutive minibatches continues its own contiguous chunk
      of the text (what stateful recurrent layers rely on);
    * ``onehot_input=True``: ``shape = (nclass, T)``; otherwise ``shape = (T, 1)`` and the
      inputs are token ids (for a ``LookupTable``); targets are always one-hot;
    * ``get_prev_target=True`` yields ``((x, z), y)`` with ``z`` the targets delayed by one
      step (step 0 all-zero, or token id 0); ``decoder_shape = shape`` always;
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
        self._settings(time_steps, path, onehot_input, reverse_target, get_prev_target)
        self.tokenizer = tokenizer
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
        self._arrange(ids, targets)

    def _settings(
        self,
        time_steps: int,
        path: str,
        onehot_input: bool,
        reverse_target: bool,
        get_prev_target: bool,
    ) -> None:
        self.time_steps = self.seq_length = int(time_steps)
        self.path = path
        self.onehot_input = onehot_input
        self.reverse_target = reverse_target
        self.get_prev_target = get_prev_target
        self.batch_index = 0
        self._device: torch.device | None = None

    def _arrange(self, ids: np.ndarray, targets: np.ndarray) -> None:
        """Lay ``ndata · T`` inputs and targets out as ``X`` / ``y`` ``(bsz, nbatches, T)`` and
        set the shapes (``nbatches``, ``nclass`` already set)."""
        layout = (self._bsz(), self._nbatches, self.time_steps)
        self.X = ids.reshape(layout)
        self.y = targets.reshape(layout)
        self.shape: Any = (
            (self.nclass, self.time_steps) if self.onehot_input else (self.time_steps, 1)
        )
        self.decoder_shape = self.shape

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
            y = self.y[:, :, ::-1] if self.reverse_target else self.y
            self._x = torch.as_tensor(self._ids(self.X), device=be.device)
            self._y = torch.as_tensor(self._ids(y), device=be.device)
            self._device = be.device

    @staticmethod
    def _ids(values: np.ndarray) -> np.ndarray:
        """Token ids as int64 (neon truncates stored floats to integers)."""
        return np.ascontiguousarray(values).astype(np.int64)

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


_NMT_DATASETS = ("europarl7", "un2000")


@neon_type("neon.data.text.TextNMT", "neon.data.TextNMT")
class TextNMT(Text):
    """French-to-English sentence pairs for neural machine translation (neon's ``TextNMT``),
    read from the HDF5 file that neon's ``examples/nmt/data.py`` writes.

    neon semantics:

    * the file is ``<path>/<dataset>-<split>.h5`` (``dataset`` ``'un2000'`` or
      ``'europarl7'``, ``split`` ``'train'`` or ``'valid'``) holding ``s_vocab`` / ``t_vocab``
      (the source / target words as byte strings, id = position; 0 is ``<eos>``, 1 ``<unk>``)
      and ``X`` / ``y`` ``(sentences, T)``: the source and target word ids of a sentence pair,
      right-aligned and padded with 0 on the left;
    * ``subset_pct < 100`` keeps the first ``int(sentences · subset_pct / 100)`` pairs, then
      pairs beyond a multiple of ``be.bsz`` are dropped; ``nbatches = sentences // bsz``,
      ``ndata = nbatches · bsz``;
    * ``s_vocab`` / ``t_vocab`` lists, ``s_token_to_index`` / ``s_index_to_token`` and the
      ``t_`` pair; ``nclass = nout = len(t_vocab)``; ``X`` / ``y`` are laid out
      ``(bsz, nbatches, T)`` as in :class:`Text` (sample n of minibatch k is pair
      ``n · nbatches + k``), ``y`` in reading order;
    * minibatches as :class:`Text` with ``reverse_target=True``: targets are one-hot and
      reversed in time, inputs are ids (``shape = decoder_shape = (T, 1)``) or one-hot
      (``onehot_input=True``, one-hot over ``nclass``, the target vocabulary, as in neon);
      ``get_prev_target=True`` adds the decoder input (the reversed targets one step late).

    ``tokenizer`` is accepted and unused, as in neon.

    Raises:
        DatasetFileError: the ``.h5`` file is absent (says where to put it).
        DatasetFormatError: an unknown ``dataset``, a file without neon's datasets, or (with
            ``onehot_input``) a source id that the target-sized one-hot cannot hold.
        ShapeMismatchError: fewer sentence pairs than one minibatch.
    """

    def __init__(
        self,
        time_steps: int,
        path: str,
        tokenizer: Callable[[str], Sequence[Any]] | None = None,
        onehot_input: bool = False,
        get_prev_target: bool = False,
        split: str | None = None,
        dataset: str = "un2000",
        subset_pct: float = 100,
    ) -> None:
        NervanaDataIterator.__init__(self)
        if dataset not in _NMT_DATASETS:
            raise DatasetFormatError(
                f"TextNMT: dataset {dataset!r}; expected one of {', '.join(_NMT_DATASETS)}."
            )
        processed = os.path.join(path, f"{dataset}-{split}.h5")
        if not os.path.exists(processed):
            raise DatasetFileError(
                f"TextNMT: {processed} is missing. Put {dataset}-{split}.h5 (what neon's "
                f"examples/nmt/data.py writes from the bitexts corpus) at {processed}, or pass "
                "the directory holding it as path."
            )
        self._settings(time_steps, processed, onehot_input, True, get_prev_target)
        self.tokenizer = tokenizer
        self.subset_pct = subset_pct
        sources, targets = self._read(processed)
        if subset_pct < 100:
            sources = sources[: int(sources.shape[0] * subset_pct / 100.0)]
            targets = targets[: int(targets.shape[0] * subset_pct / 100.0)]
        if onehot_input and sources.size and sources.max() >= self.nclass:
            raise DatasetFormatError(
                f"TextNMT({processed!r}, onehot_input=True): source id {int(sources.max())} is "
                f"not below nclass {self.nclass}; neon one-hot encodes the source over the "
                "target vocabulary, so use onehot_input=False (ids for a LookupTable)."
            )
        bsz = self._bsz()
        self._nbatches = sources.shape[0] // bsz
        if self._nbatches == 0:
            raise ShapeMismatchError(
                f"TextNMT({processed!r}): {sources.shape[0]} sentence pairs are fewer than one "
                f"minibatch (be.bsz {bsz}); use a smaller batch size or a larger subset_pct."
            )
        self.ndata = self._nbatches * bsz
        self._arrange(sources[: self.ndata], targets[: self.ndata])

    def _read(self, processed: str) -> tuple[np.ndarray, np.ndarray]:
        import h5py

        with h5py.File(processed, "r") as f:
            missing = [key for key in ("s_vocab", "t_vocab", "X", "y") if key not in f]
            if missing:
                raise DatasetFormatError(
                    f"TextNMT: {processed} has no dataset(s) {', '.join(missing)}; expected "
                    "s_vocab, t_vocab, X and y as neon's examples/nmt/data.py writes them."
                )
            self.s_vocab = f["s_vocab"][:].tolist()
            self.t_vocab = f["t_vocab"][:].tolist()
            sources, targets = f["X"][:], f["y"][:]
        if (
            sources.ndim != 2
            or sources.shape != targets.shape
            or sources.shape[1] != self.time_steps
        ):
            raise DatasetFormatError(
                f"TextNMT: {processed} holds X {sources.shape} and y {targets.shape}; expected "
                f"two (sentences, {self.time_steps}) arrays (time_steps {self.time_steps})."
            )
        self.s_token_to_index = {t: i for i, t in enumerate(self.s_vocab)}
        self.s_index_to_token = dict(enumerate(self.s_vocab))
        self.t_token_to_index = {t: i for i, t in enumerate(self.t_vocab)}
        self.t_index_to_token = dict(enumerate(self.t_vocab))
        self.nclass = self.nout = len(self.t_vocab)
        return sources, targets
