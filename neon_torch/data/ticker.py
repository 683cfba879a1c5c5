"""neon's synthetic sequence tasks: ``Ticker`` with ``CopyTask``, ``RepeatCopyTask`` and
``PrioritySortTask`` (the Neural Turing Machine tasks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from ..backends.backend import NervanaObject
from ..registry import neon_type
from .dataiterator import NervanaDataIterator

__all__ = ["CopyTask", "PrioritySortTask", "RepeatCopyTask", "Task", "Ticker"]


@neon_type("neon.data.ticker.Task")
class Task(NervanaObject):
    """Base of the ticker tasks.

    neon semantics: a task sets ``nin``, ``nout``, ``time_steps_max`` and
    ``max_columns = time_steps_max · be.bsz``, and its ``synthesize(in_tensor, out_tensor,
    mask)`` writes one minibatch into the ticker's buffers, which have neon's recurrent layout
    ``(features, time_steps_max · bsz)``: column ``t · bsz + n`` is step ``t`` of sample ``n``.
    All samples of a minibatch share one length; the steps past it are zero with mask 0.
    Random draws come from numpy's global generator (``np.random``), as in neon.
    """

    # set by each task's constructor (see _pattern_task_shapes)
    nin: int
    nout: int
    vec_size: int
    seq_len_max: int
    time_steps_max: int
    max_columns: int
    time_steps_func: Callable[..., int]  # steps of a minibatch from its length (and repeats)
    synthesize: Callable[..., None]

    def fetch_io(self, time_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Zeroed host arrays ``(nin, time_steps · bsz)`` and ``(nout, time_steps · bsz)``."""
        columns = time_steps * self.be.bsz
        return np.zeros((self.nin, columns)), np.zeros((self.nout, columns))

    def fill_buffers(
        self,
        time_steps: int,
        inputs: np.ndarray,
        outputs: np.ndarray,
        in_tensor: Any,
        out_tensor: Any,
        mask: Any,
    ) -> None:
        """Copy ``inputs``/``outputs`` (``time_steps`` steps) into the buffers, zero-padded
        to ``time_steps_max`` steps; the mask is 1 on the first ``time_steps`` steps."""
        columns = time_steps * self.be.bsz
        padded_in = np.zeros((self.nin, self.max_columns))
        padded_out = np.zeros((self.nout, self.max_columns))
        padded_in[:, :columns] = inputs
        padded_out[:, :columns] = outputs
        in_tensor.set(padded_in)
        out_tensor.set(padded_out)
        mask[:, :columns] = 1
        mask[:, columns:] = 0


def _start_and_pattern(task: Task, inputs: np.ndarray, seq_len: int, rows: int) -> np.ndarray:
    """Mark the start channel (row ``-2``) on step 0 and draw the bit pattern of ``seq_len``
    steps (``rows`` rows, one column per step and sample)."""
    inputs[-2, : task.be.bsz] = 1
    return np.random.randint(2, size=(rows, seq_len * task.be.bsz))


def _pattern_task_shapes(
    task: Task, seq_len_max: int, vec_size: int, control_channels: int
) -> None:
    """The sizes CopyTask and PrioritySortTask share: ``vec_size`` outputs, ``vec_size`` plus
    the control channels as inputs, ``2 · seq_len + 2`` steps per minibatch."""
    task.seq_len_max = seq_len_max
    task.vec_size = vec_size
    task.nout = vec_size
    task.nin = vec_size + control_channels
    task.time_steps_func = lambda length: 2 * length + 2
    task.time_steps_max = task.time_steps_func(seq_len_max)
    task.max_columns = task.time_steps_max * task.be.bsz


@neon_type("neon.data.ticker.CopyTask", "neon.data.CopyTask")
class CopyTask(Task):
    """Copy a random bit pattern (NTM copy task), batched.

    neon semantics: ``nin = vec_size + 2`` (start and stop channels), ``nout = vec_size``,
    ``time_steps_max = 2 · seq_len_max + 2``. Per minibatch ``seq_len`` is drawn in
    ``[1, seq_len_max]``, giving ``2 · seq_len + 2`` steps: step 0 the start bit, steps
    ``1..seq_len`` the pattern, step ``seq_len + 1`` the stop bit, and the targets of steps
    ``seq_len + 2 ..`` the pattern again.
    """

    def __init__(self, seq_len_max: int, vec_size: int) -> None:
        super().__init__()
        _pattern_task_shapes(self, seq_len_max, vec_size, control_channels=2)

    def synthesize(self, in_tensor: Any, out_tensor: Any, mask: Any) -> None:
        """Write a new minibatch into the buffers (see the class docstring)."""
        bsz = self.be.bsz
        seq_len = np.random.randint(1, self.seq_len_max + 1)
        time_steps = self.time_steps_func(seq_len)
        inputs, outputs = self.fetch_io(time_steps)
        seq = _start_and_pattern(self, inputs, seq_len, self.vec_size)
        stop = bsz * (seq_len + 1)
        inputs[-1, stop : stop + bsz] = 1
        inputs[: self.vec_size, bsz:stop] = seq
        outputs[:, bsz * (seq_len + 2) :] = seq
        self.fill_buffers(time_steps, inputs, outputs, in_tensor, out_tensor, mask)


@neon_type("neon.data.ticker.RepeatCopyTask", "neon.data.RepeatCopyTask")
class RepeatCopyTask(Task):
    """Copy a random bit pattern several times (NTM repeat-copy task), batched.

    neon semantics: ``nin = vec_size + 2``, ``nout = vec_size + 1`` (the last output channel
    is the end bit). neon ignores ``repeat_count_max`` and uses ``seq_len_max`` as the
    largest repeat count (kept here: ``self.repeat_count_max == seq_len_max``).
    ``time_steps = seq_len · (repeats + 1) + 3``; the stop channel of step ``seq_len + 1``
    holds the repeat count, copy ``i`` of the pattern is the target from step
    ``(i + 1) · seq_len + 2``, and the end bit is set on the last step of the minibatch.
    """

    def __init__(self, seq_len_max: int, repeat_count_max: int, vec_size: int) -> None:
        super().__init__()
        self.seq_len_max = seq_len_max
        self.repeat_count_max = seq_len_max
        self.vec_size = vec_size
        self.nout = vec_size + 1
        self.nin = vec_size + 2
        self.time_steps_func = lambda length, repeats: length * (repeats + 1) + 3
        self.time_steps_max = self.time_steps_func(seq_len_max, self.repeat_count_max)
        self.max_columns = self.time_steps_max * self.be.bsz

    def synthesize(self, in_tensor: Any, out_tensor: Any, mask: Any) -> None:
        """Write a new minibatch into the buffers (see the class docstring)."""
        bsz = self.be.bsz
        seq_len = np.random.randint(1, self.seq_len_max + 1)
        repeats = np.random.randint(1, self.repeat_count_max + 1)
        time_steps = self.time_steps_func(seq_len, repeats)
        inputs, outputs = self.fetch_io(time_steps)
        seq = _start_and_pattern(self, inputs, seq_len, self.vec_size)
        stop = bsz * (seq_len + 1)
        inputs[-1, stop : stop + bsz] = repeats
        inputs[: self.vec_size, bsz:stop] = seq
        for i in range(repeats):
            first = bsz * ((i + 1) * seq_len + 2)
            outputs[:-1, first : first + seq_len * bsz] = seq
        outputs[-1, -bsz:] = 1
        self.fill_buffers(time_steps, inputs, outputs, in_tensor, out_tensor, mask)


@neon_type("neon.data.ticker.PrioritySortTask", "neon.data.PrioritySortTask")
class PrioritySortTask(Task):
    """Sort random bit vectors by a priority (NTM priority-sort task), batched.

    neon semantics: ``nin = vec_size + 3`` (start, stop and priority channels),
    ``nout = vec_size``, ``time_steps_max = 2 · seq_len_max + 2``. The priorities are uniform
    in ``[-1, 1)`` on the last input channel; the targets from step ``seq_len + 2`` are each
    sample's vectors in ascending priority order. As in neon the start bit is on channel
    ``-3`` and the stop bit on channel ``-2``.
    """

    def __init__(self, seq_len_max: int, vec_size: int) -> None:
        super().__init__()
        _pattern_task_shapes(self, seq_len_max, vec_size, control_channels=3)

    def synthesize(self, in_tensor: Any, out_tensor: Any, mask: Any) -> None:
        """Write a new minibatch into the buffers (see the class docstring)."""
        bsz = self.be.bsz
        seq_len = np.random.randint(1, self.seq_len_max + 1)
        time_steps = self.time_steps_func(seq_len)
        inputs, outputs = self.fetch_io(time_steps)
        inputs[-3, :bsz] = 1
        seq = np.random.randint(2, size=(self.nin, seq_len * bsz)).astype(float)
        seq[-3:, :] = 0
        seq[-1, :] = np.random.uniform(-1, 1, size=(seq_len * bsz,))
        stop = bsz * (seq_len + 1)
        inputs[-2, stop : stop + bsz] = 1
        inputs[:, bsz:stop] = seq
        for n in range(bsz):
            steps = seq[:, n::bsz]
            seq[:, n::bsz] = steps[:, steps[-1, :].argsort()]
        outputs[:, bsz * (seq_len + 2) :] = seq[: self.nout, :]
        self.fill_buffers(time_steps, inputs, outputs, in_tensor, out_tensor, mask)


def _batch_first(buf: Any, steps: int) -> torch.Tensor:
    """A batch-first copy ``(bsz, steps, features)`` of a neon ``(features, steps · bsz)``
    buffer."""
    t = buf.torch
    return (
        t.reshape(t.shape[0], steps, -1)
        .permute(2, 1, 0)
        .clone(memory_format=torch.contiguous_format)
    )


@neon_type("neon.data.ticker.Ticker", "neon.data.Ticker")
class Ticker(NervanaDataIterator):
    """Minibatches drawn afresh from a ticker ``task``.

    neon semantics: ``nbatches = 100`` per epoch, ``ndata = 100 · bsz``, ``nin``/``nout``
    from the task, ``shape = (nin, time_steps_max)``; each minibatch is
    ``x, (t, mask)`` (for :class:`~neon_torch.layers.GeneralizedCostMask`), every sequence
    padded to ``time_steps_max`` steps; ``reset()`` does nothing. The task writes into
    ``dev_X``/``dev_y``/``mask``, backend buffers in neon's ``(features, T · bsz)`` layout.

    neon_torch: the minibatches are batch-first copies of those buffers: ``x`` is
    ``(bsz, time_steps_max, nin)``, ``t`` and ``mask`` are ``(bsz, time_steps_max, nout)``.
    """

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.batch_index = 0
        self.nbatches = 100
        self.ndata = self.nbatches * self.be.bsz
        self.nout = task.nout
        self.nin = task.nin
        self.shape = (self.nin, task.time_steps_max)
        self.dev_X = self.be.iobuf((self.nin, task.time_steps_max))
        self.dev_y = self.be.iobuf((self.nout, task.time_steps_max))
        self.mask = self.be.iobuf((self.nout, task.time_steps_max))

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        steps = self.task.time_steps_max
        self.batch_index = 0
        while self.batch_index < self.nbatches:
            self.task.synthesize(self.dev_X, self.dev_y, self.mask)
            self.batch_index += 1
            x = _batch_first(self.dev_X, steps)
            yield x, (_batch_first(self.dev_y, steps), _batch_first(self.mask, steps))
