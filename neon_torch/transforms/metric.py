"""neon's metrics: ``metric(y, t, calcrange=slice(0, None))`` returns numpy values.

Inputs are batch-first ``(N, F)`` tensors (``(N, T, F)`` for sequences, every step counting as
a sample). ``calcrange`` selects the samples (rows) that count; :meth:`Model.eval` uses it to
leave out the wrapped samples of a last, partial minibatch. ``metric_names`` name the returned
values in order. ``outputs`` keeps neon's per-sample (or per-class) values after a call, in
neon's layout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..compat._logger import neon_logger
from ..errors import ShapeMismatchError
from ..registry import neon_type
from .cost import Cost, safelog

__all__ = [
    "Accuracy",
    "BLEUScore",
    "LogLoss",
    "Metric",
    "Misclassification",
    "PrecisionRecall",
    "TopKMisclassification",
]

_MODULE = "neon.transforms.cost"


def _rows(y: Tensor, t: Tensor, calcrange: slice) -> tuple[Tensor, Tensor]:
    y, t = y[calcrange], t[calcrange]
    return y.reshape(-1, y.shape[-1]), t.reshape(-1, t.shape[-1])


def _np(x: Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


class Metric(Cost):
    """Base class of metrics; ``metric_names`` lists what ``__call__`` returns."""

    metric_names: list[str]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> Any:
        raise NotImplementedError


@neon_type(f"{_MODULE}.Misclassification", "neon.transforms.Misclassification")
class Misclassification(Metric):
    """Fraction of samples whose ``argmax`` of ``y`` differs from ``t``'s (first maximum wins).

    ``steps`` is the number of time steps of the output, as in neon, where it sizes the
    metric's buffers: sequence outputs ``(N, T, F)`` need ``steps=T`` (every step counts as a
    sample) and flat outputs ``steps=1``; a mismatch raises (neon crashes). Returns a float.
    """

    def __init__(self, steps: int = 1) -> None:
        self.steps = steps
        self.metric_names = ["Top1Misclass"]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> float:
        got = y.shape[1] if y.dim() == 3 else 1
        if got != self.steps:
            raise ShapeMismatchError(
                f"Misclassification(steps={self.steps}) received outputs of shape "
                f"{tuple(y.shape)} with {got} time step(s); construct it as "
                f"Misclassification(steps={got}) for these outputs."
            )
        y2, t2 = _rows(y, t, calcrange)
        wrong = (y2.argmax(-1) != t2.argmax(-1)).to(torch.float32)
        self.outputs = _np(wrong)[None, :]
        return float(wrong.mean())


@neon_type(f"{_MODULE}.Accuracy", "neon.transforms.Accuracy")
class Accuracy(Metric):
    """Fraction of samples whose ``argmax`` of ``y`` equals that of ``t``. Returns a float."""

    def __init__(self) -> None:
        self.metric_names = ["Accuracy"]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> float:
        y2, t2 = _rows(y, t, calcrange)
        right = (y2.argmax(-1) == t2.argmax(-1)).to(torch.float32)
        self.outputs = _np(right)[None, :]
        return float(right.mean())


@neon_type(f"{_MODULE}.LogLoss", "neon.transforms.LogLoss")
class LogLoss(Metric):
    """Mean of ``-safelog(Σ_f y·t)``. Returns a 0-d numpy array."""

    def __init__(self) -> None:
        self.metric_names = ["LogLoss"]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> np.ndarray:
        y2, t2 = _rows(y, t, calcrange)
        loss = -safelog((y2 * t2).sum(-1))
        self.outputs = _np(loss)[None, :]
        return np.asarray(self.outputs.mean(), dtype=np.float32)


@neon_type(f"{_MODULE}.TopKMisclassification", "neon.transforms.TopKMisclassification")
class TopKMisclassification(Metric):
    """``[LogLoss, Top1Misclass, Top<k>Misclass]`` with neon's expected tie-breaking.

    For each sample, ``p = Σ_f y·t`` is the score of the true class, ``G`` the number of scores
    above it and ``E`` the number equal to it. The top-k error is ``1 - slots/E`` style expected
    error under random tie-breaking with ``slots = k - G``; the top-1 error is
    ``1 - [max y == p] / E``.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.metric_names = ["LogLoss", "Top1Misclass", f"Top{k}Misclass"]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> np.ndarray:
        y2, t2 = _rows(y, t, calcrange)
        p = (y2 * t2).sum(-1, keepdim=True)
        greater = (y2 > p).sum(-1).to(y2.dtype)
        equal = (y2 == p).sum(-1).to(y2.dtype)
        slots = self.k - greater
        topk_hit = (slots > 0).to(y2.dtype) * torch.where(
            equal <= slots, torch.ones_like(equal), slots / equal
        )
        top1_hit = (y2.max(-1).values == p[:, 0]).to(y2.dtype) / equal
        logloss = -safelog(p[:, 0])
        values = torch.stack([logloss, 1.0 - top1_hit, 1.0 - topk_hit]).mean(-1)
        return _np(values)


@neon_type(f"{_MODULE}.PrecisionRecall", "neon.transforms.PrecisionRecall")
class PrecisionRecall(Metric):
    """Class-averaged ``[Precision, Recall]`` over all samples (``calcrange`` ignored, as in neon).

    With ``binarize=True`` the prediction is first replaced by the one-hot of its argmax (neon
    does this in place on ``y``; neon_torch leaves ``y`` untouched). ``outputs`` holds the
    per-class ``(num_classes, 2)`` values.
    """

    def __init__(self, num_classes: int, binarize: bool = False, epsilon: float = 1e-6) -> None:
        self.num_classes = num_classes
        self.binarize = binarize
        self.epsilon = epsilon
        self.metric_names = ["Precision", "Recall"]

    def __call__(self, y: Tensor, t: Tensor, calcrange: slice = slice(0, None)) -> np.ndarray:
        y2, t2 = _rows(y, t, slice(0, None))
        if self.binarize:
            y2 = torch.nn.functional.one_hot(y2.argmax(-1), y2.shape[-1]).to(t2.dtype)
        true_pos = (y2 * t2).sum(0)
        precision = true_pos / (y2.sum(0) + self.epsilon)
        recall = true_pos / (t2.sum(0) + self.epsilon)
        per_class = torch.stack([precision, recall], dim=1)
        self.outputs = _np(per_class)
        return _np(per_class.mean(0))


def _ngram_counts(words: list[str], top: int) -> Counter[str]:
    """Every n-gram of ``words`` for ``n = 1..top``, keyed ``"<n> <w1 ... wn>"`` as neon keys
    them (its ``<unk>`` test searches that key)."""
    counts: Counter[str] = Counter()
    for n in range(1, top + 1):
        for start in range(len(words) - n + 1):
            counts[f"{n} {' '.join(words[start : start + n])}"] += 1
    return counts


@neon_type(f"{_MODULE}.BLEUScore", "neon.transforms.BLEUScore")
class BLEUScore(Metric):
    """neon's corpus BLEU: ``bleu(y, t, N=4, brevity_penalty=False, lower_case=True)``.

    ``y`` is a list of candidate sentences (strings), ``t`` one list of reference sentences
    (strings) per candidate. neon semantics, kept to reproduce its numbers:

    * candidates are lower-cased when ``lower_case`` (references never are), stripped of
      leading/trailing ``'.'`` characters and split on whitespace; references are split;
    * for ``n = 1..N`` the candidate n-grams are counted over the corpus (``totals``) and each
      is credited with at most its largest count in any one reference (``correct``); an
      n-gram whose key ``"<n> <words>"`` contains ``unk`` is never credited. The n-gram order
      is read from the first digit of that key, as neon does (only matters for ``N >= 10``);
    * ``precision = correct / totals + 1e-7`` (an order with no candidate n-gram gives nan);
    * the reference length of a sentence is the length of its *last* reference (neon's
      closest-length search never updates its best difference); with ``brevity_penalty`` and
      a corpus shorter than that, every score is multiplied by ``exp(1 - ref_len / cand_len)``;
    * ``bleu_n[k] = 100 · bp · exp(mean(log precision[:k+1]))`` for ``k < N``; all of them are
      displayed (``Bleu scores: `` and each rounded to 2 decimals, through ``neon.logger``)
      and kept in ``self.bleu_n``; the return value is ``bleu_n[-1]`` (a numpy float64).
    """

    def __init__(self, unk: str = "<unk>") -> None:
        self.metric_names = ["BLEU"]
        self.end_token = "."
        self.unk_symbol = unk

    def __call__(  # type: ignore[override]
        self,
        y: Sequence[str],
        t: Sequence[Sequence[str]],
        N: int = 4,
        brevity_penalty: bool = False,
        lower_case: bool = True,
    ) -> Any:
        candidates = [(s.lower() if lower_case else s).strip(self.end_token).split() for s in y]
        references = [[ref.split() for ref in refs] for refs in t]
        totals, correct = np.zeros(N), np.zeros(N)
        cand_len, ref_len = 0, 0.0
        for words, refs in zip(candidates, references, strict=False):
            best: Counter[str] = Counter()
            for ref in refs:
                for gram, count in _ngram_counts(ref, N).items():
                    best[gram] = max(best[gram], count)
            ref_len += len(refs[-1]) if refs else float("inf")
            cand_len += len(words)
            for gram, count in _ngram_counts(words, N).items():
                order = int(gram[0]) - 1
                totals[order] += count
                if self.unk_symbol not in gram:
                    correct[order] += min(count, best[gram])
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = correct / totals + 0.0000001
            logprec = np.log(precision)
        bp = 1.0
        if brevity_penalty and cand_len < ref_len:
            bp = np.exp(1 - float(ref_len) / cand_len)
        self.bleu_n = [100 * bp * np.exp(sum(logprec[: k + 1]) / (k + 1)) for k in range(N)]
        neon_logger.display("Bleu scores: " + " ".join(str(np.round(v, 2)) for v in self.bleu_n))
        return self.bleu_n[-1]
