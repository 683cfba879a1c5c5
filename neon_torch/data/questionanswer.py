"""neon's question-answering data: the bAbI tasks (``BABI``) and their iterator (``QA``).

On disk ``BABI`` reads neon's download, ``tasks_1-20_v1-2.tar.gz`` in the data directory
(``-w``): the text files ``tasks_1-20_v1-2/en/<task>_{train,test}.txt``. Files already
extracted there are read as they are; otherwise the two files are read straight from the
archive (nothing is written into the data directory). An absent archive is downloaded, or,
offline, raises :class:`~neon_torch.data.datasets.DatasetFileError` saying where to put it.

A bAbI file holds stories of numbered lines; the numbering restarts at 1 with each story. A
statement is ``"N sentence"``; a question is ``"N question<TAB>answer<TAB>supporting ids"`` and
is asked about the statements of its story so far.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..backends.backend import current_backend
from ..compat._logger import neon_logger
from ..registry import neon_type
from .dataiterator import NervanaDataIterator
from .datasets import Dataset, DatasetFormatError
from .text_preprocessing import pad_sentences

__all__ = ["BABI", "QA"]

#: (story words, question words, answer word) of one bAbI question.
Parsed = tuple[list[str], list[str], str]

_TASKS = (
    "qa1_single-supporting-fact",
    "qa2_two-supporting-facts",
    "qa3_three-supporting-facts",
    "qa4_two-arg-relations",
    "qa5_three-arg-relations",
    "qa6_yes-no-questions",
    "qa7_counting",
    "qa8_lists-sets",
    "qa9_simple-negation",
    "qa10_indefinite-knowledge",
    "qa11_basic-coreference",
    "qa12_conjunction",
    "qa13_compound-coreference",
    "qa14_time-reasoning",
    "qa15_basic-deduction",
    "qa16_basic-induction",
    "qa17_positional-reasoning",
    "qa18_size-reasoning",
    "qa19_path-finding",
    "qa20_agents-motivations",
)


@neon_type("neon.data.questionanswer.QA", "neon.data.QA")
class QA(NervanaDataIterator):
    """``QA(story, query, answer)``: minibatches of vectorized question-answering data.

    neon semantics:

    * ``story`` ``(ndata, story_length)`` and ``query`` ``(ndata, query_length)`` are padded
      token ids (``BABI.train`` / ``BABI.test`` give them), ``answer`` ``(ndata, vocab_size)``
      one-hot rows;
    * ``shape = [(story_length, 1), (query_length, 1)]``: two input streams, for a
      ``MergeMultistream`` whose paths start with a ``LookupTable``;
    * ``nbatches = ndata // be.bsz`` with ``be.bsz`` as it is at construction; the samples
      past the last whole minibatch are not used in that epoch;
    * every pass (``fit`` epochs, ``eval``, ``get_outputs``) first shuffles the three arrays
      in place with ``be.rng.permutation(ndata)``, so it draws from neon's random stream and
      the order carries over to the next pass;
    * ``reset()`` only rewinds the minibatch counter.

    Shape:
        each minibatch is ``((story (bsz, story_length), query (bsz, query_length)),
        answer (bsz, vocab_size))``, batch-first tensors of the backend's dtype (neon's
        device buffers are the transposes).
    """

    def __init__(self, story: Any, query: Any, answer: Any) -> None:
        super().__init__(name=None)
        self.story = np.asarray(story)
        self.query = np.asarray(query)
        self.answer = np.asarray(answer)
        self.ndata = len(self.story)
        self.nbatches = self.ndata // current_backend().bsz
        self.story_length = self.story.shape[1]
        self.query_length = self.query.shape[1]
        self.shape = [(self.story_length, 1), (self.query_length, 1)]
        self.batch_index = 0

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]:
        be = current_backend()
        self.batch_index = 0
        order = be.rng.permutation(len(self.story))
        self.story = self.story[order]
        self.query = self.query[order]
        self.answer = self.answer[order]
        while self.batch_index < self.nbatches:
            rows = slice(self.batch_index * be.bsz, (self.batch_index + 1) * be.bsz)
            story, query, answer = (
                torch.as_tensor(a[rows], dtype=be.torch_dtype).to(be.device)
                for a in (self.story, self.query, self.answer)
            )
            for stream in (story, query):  # a stateful recurrent layer resets on a new source
                stream.neon_source = self  # type: ignore[attr-defined]  # a marker on the tensor
            self.batch_index += 1
            yield (story, query), answer

    def reset(self) -> None:
        """Rewind to the first minibatch (the next pass still reshuffles)."""
        self.batch_index = 0


@neon_type("neon.data.questionanswer.BABI", "neon.data.BABI")
class BABI(Dataset):
    """``BABI(path='.', task='qa1_single-supporting-fact', subset='en')``: one bAbI task,
    parsed, with a vocabulary over its train and test files, vectorized.

    neon semantics:

    * ``task`` is one of the 20 names in ``tasks``; the files are always read from the ``en``
      folder of the archive: ``subset`` is only shown in the log line (neon's loader never
      passes it on);
    * tokens: runs of word characters and runs of other non-blank characters (``"bathroom."``
      gives ``bathroom``, ``.``); a story is the concatenation of its statements' tokens up to
      the question;
    * ``vocab``: sorted words of all stories, questions and answers of both files;
      ``word_to_index`` numbers them from 1 (0 is padding), ``vocab_size = len(vocab) + 2``
      and an unknown word gets id ``vocab_size - 1``;
    * ``train`` / ``test``: ``(stories (n, story_maxlen) int32, queries (n, query_maxlen)
      int32, answers (n, vocab_size) float64 one-hot)``, sentences left-padded with 0 and cut
      to their last ``*_maxlen`` words (``pad_sentences``); the maxima run over both files;
    * the last line of a file is read only when a newline ends it (neon drops what follows
      the last newline).

    Raises:
        DatasetFileError: the archive is absent and cannot be downloaded.
        DatasetFormatError: the archive lacks the task's files or a line is not in bAbI's
            format.
    """

    tasks: tuple[str, ...] = _TASKS

    def __init__(
        self, path: str = ".", task: str = "qa1_single-supporting-fact", subset: str = "en"
    ) -> None:
        super().__init__(
            "tasks_1-20_v1-2.tar.gz",
            "http://www.thespermwhale.com/jaseweston/babi",
            11745123,
            path=path,
        )
        self.task = task
        self.subset = subset
        neon_logger.display(f"Preparing bAbI dataset or extracting from {path}")
        neon_logger.display(f"Task is {subset}/{task}")
        if task not in _TASKS:
            raise DatasetFormatError(
                f"BABI: task {task!r} is not a bAbI task; pass one of {', '.join(_TASKS)}."
            )
        self.train_file, self.test_file = self.load_data(path, task)
        self.train_parsed = self._read(self.train_file)
        self.test_parsed = self._read(self.test_file)
        self.compute_statistics()
        self.train = self.vectorize_stories(self.train_parsed)
        self.test = self.vectorize_stories(self.test_parsed)

    def load_data(
        self, path: str = ".", task: str = "qa1_single-supporting-fact", subset: str = "en"
    ) -> tuple[str, str]:
        """The paths of the task's train and test files, as they lie once the archive is
        extracted into ``path`` (the archive is downloaded when neither it nor both files are
        there)."""
        self._valid_path_append(path)
        folder = self.filename.split(".")[0]
        workdir = os.path.expanduser(path)
        files = tuple(
            os.path.join(workdir, folder, subset, f"{task}_{part}.txt")
            for part in ("train", "test")
        )
        if not all(os.path.exists(f) for f in files):
            self.filepath()
        return files[0], files[1]

    def _read(self, babi_file: str) -> list[Parsed]:
        """Parse ``babi_file`` from disk, else from its member of the archive."""
        if os.path.exists(babi_file):
            return BABI.parse_babi(babi_file)
        archive = os.path.join(self.path, self.filename)
        member = os.path.relpath(babi_file, self.path).replace(os.sep, "/")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                handle = tar.extractfile(member)
                if handle is None:
                    raise KeyError(member)
                text = handle.read().decode("utf-8")
        except KeyError:
            raise DatasetFormatError(
                f"BABI: {archive} has no {member}; use neon's bAbI archive "
                f"({self.filename}, tasks_1-20_v1-2/en/<task>_{{train,test}}.txt) or put the "
                f"two task files at {babi_file}."
            ) from None
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DatasetFormatError(
                f"BABI: {archive} is not a readable .tar.gz archive ({err}); replace it with "
                f"neon's {self.filename}."
            ) from None
        return BABI._parse_text(text, f"{archive}:{member}")

    @staticmethod
    def data_to_list(data: str) -> list[str]:
        """The stripped lines of ``data`` before its last newline."""
        return [line.strip() for line in data.split("\n")[:-1]]

    @staticmethod
    def tokenize(sentence: str) -> list[str]:
        """Words and punctuation of ``sentence``: runs of word characters and the non-blank
        parts of the runs between them."""
        return [x.strip() for x in re.split(r"(\W+)", sentence) if x.strip()]

    @staticmethod
    def flatten(data: Sequence[list[str]]) -> list[str]:
        """The lists of ``data`` joined into one list."""
        return [word for sentence in data for word in sentence]

    @staticmethod
    def parse_babi(babi_file: str) -> list[Parsed]:
        """``(story words, question words, answer)`` for every question in ``babi_file``.

        Raises:
            DatasetFormatError: a line is not in bAbI's format.
        """
        with open(babi_file, encoding="utf-8") as handle:
            return BABI._parse_text(handle.read(), babi_file)

    @staticmethod
    def _parse_text(data: str, source: str) -> list[Parsed]:
        parsed: list[Parsed] = []
        story: list[list[str]] = []
        for number, line in enumerate(BABI.data_to_list(data), start=1):
            where = f"BABI: {source} line {number} ({line!r})"
            nid, _, text = line.partition(" ")
            if not nid.isdigit() or not text:
                raise DatasetFormatError(
                    f"{where} does not start with a line number and a space; bAbI lines are "
                    "'N sentence' or 'N question<TAB>answer<TAB>supporting ids'."
                )
            if int(nid) == 1:
                story = []
            if "\t" not in text:
                story.append(BABI.tokenize(text))
                continue
            fields = text.split("\t")
            if len(fields) != 3:
                raise DatasetFormatError(
                    f"{where} has {len(fields)} tab-separated fields; a question line is "
                    "'N question<TAB>answer<TAB>supporting ids'."
                )
            if not any(story):
                raise DatasetFormatError(
                    f"{where} asks a question before any statement of its story; start each "
                    "story with line number 1 and a statement."
                )
            parsed.append((BABI.flatten(story), BABI.tokenize(fields[0]), fields[1]))
        return parsed

    def words_to_vector(self, words: Sequence[str]) -> list[int]:
        """The ids of ``words`` (``vocab_size - 1`` for words outside the vocabulary)."""
        return [self.word_to_index.get(w, self.vocab_size - 1) for w in words]

    def one_hot_vector(self, answer: str) -> np.ndarray:
        """``(vocab_size,)`` float64 with 1 at the answer's id."""
        vector = np.zeros(self.vocab_size)
        vector[self.word_to_index[answer]] = 1
        return vector

    def vectorize_stories(
        self, data: Sequence[Parsed]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(stories, queries, answers)`` arrays of ``data`` (see the class docstring)."""
        stories = pad_sentences([self.words_to_vector(s) for s, _, _ in data], self.story_maxlen)
        queries = pad_sentences([self.words_to_vector(q) for _, q, _ in data], self.query_maxlen)
        answers = np.array([self.one_hot_vector(a) for _, _, a in data])
        return stories, queries, answers

    def compute_statistics(self) -> None:
        """Set ``vocab``, ``vocab_size``, ``word_to_index``, ``index_to_word``,
        ``story_maxlen`` and ``query_maxlen`` from both files' questions."""
        every = self.train_parsed + self.test_parsed
        if not every:
            raise DatasetFormatError(
                f"BABI: {self.train_file} and {self.test_file} hold no questions; a question "
                "line is 'N question<TAB>answer<TAB>supporting ids'."
            )
        self.vocab = sorted({w for s, q, a in every for w in (*s, *q, a)})
        self.vocab_size = len(self.vocab) + 2
        self.word_to_index = {w: i + 1 for i, w in enumerate(self.vocab)}
        self.index_to_word = {i + 1: w for i, w in enumerate(self.vocab)}
        self.story_maxlen = max(len(s) for s, _, _ in every)
        self.query_maxlen = max(len(q) for _, q, _ in every)
