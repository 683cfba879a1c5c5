"""neon's bAbI loader (``BABI``) and QA iterator (``QA``): where the files are read from,
neon's parsing, tokenizing and vocabulary rules, format and missing-file errors, and the
iterator's shuffling, minibatch count and layout."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends import Tensor, gen_backend
from neon_torch.data import BABI, QA, DatasetFileError, DatasetFormatError

TASK = "qa1_single-supporting-fact"
TRAIN = (
    "1 Mary moved to the bathroom.\n"
    "2 John went to the hallway.\n"
    "3 Where is Mary? \tbathroom\t1\n"
    "4 Daniel went back to the garden.\n"
    "5 Where is Daniel? \tgarden\t4\n"
    "1 Sandra journeyed to the office.\n"
    "2 Where is Sandra? \toffice\t1\n"
)
TEST = "1 John moved to the kitchen.\n2 Where is John? \tkitchen\t1\n"


def _archive(folder: Path, files: dict[str, str]) -> Path:
    path = folder / "tasks_1-20_v1-2.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"tasks_1-20_v1-2/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _task_files(train: str = TRAIN, test: str = TEST) -> dict[str, str]:
    return {f"en/{TASK}_train.txt": train, f"en/{TASK}_test.txt": test}


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "1")
    gen_backend("cpu", rng_seed=0, batch_size=2)


def test_parses_vectorizes_and_builds_neon_vocabulary(tmp_path: Path) -> None:
    _archive(tmp_path, _task_files())
    babi = BABI(path=str(tmp_path), task=TASK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks_1-20_v1-2.tar.gz"]  # read only
    story, question, answer = babi.train_parsed[1]
    assert story == [
        *["Mary", "moved", "to", "the", "bathroom", "."],
        *["John", "went", "to", "the", "hallway", "."],
        *["Daniel", "went", "back", "to", "the", "garden", "."],
    ]
    assert (question, answer) == (["Where", "is", "Daniel", "?"], "garden")
    assert babi.train_parsed[2][0] == ["Sandra", "journeyed", "to", "the", "office", "."]
    assert babi.vocab == sorted(babi.vocab) and "kitchen" in babi.vocab  # test words too
    assert babi.vocab_size == len(babi.vocab) + 2
    assert babi.word_to_index[babi.vocab[0]] == 1
    assert babi.index_to_word[3] == babi.vocab[2]
    assert (babi.story_maxlen, babi.query_maxlen) == (19, 4)
    stories, queries, answers = babi.train
    assert stories.shape == (3, 19) and stories.dtype == np.int32
    assert queries.shape == (3, 4) and answers.shape == (3, babi.vocab_size)
    assert answers.dtype == np.float64
    assert list(stories[2, :13]) == [0] * 13  # left padding
    assert babi.words_to_vector(["Sandra", "dragon"]) == [
        babi.word_to_index["Sandra"],
        babi.vocab_size - 1,
    ]
    assert answers[0].argmax() == babi.word_to_index["bathroom"] and answers[0].sum() == 1


def test_tokenize_keeps_punctuation_runs() -> None:
    assert BABI.tokenize("Where is Mary? ") == ["Where", "is", "Mary", "?"]
    assert BABI.tokenize("the hallway.  Then?!") == ["the", "hallway", ".", "Then", "?!"]
    assert BABI.tokenize("don't") == ["don", "'", "t"]


def test_extracted_files_need_no_archive_and_subset_is_only_displayed(tmp_path: Path) -> None:
    folder = tmp_path / "tasks_1-20_v1-2" / "en"
    folder.mkdir(parents=True)
    (folder / f"{TASK}_train.txt").write_text(TRAIN)
    (folder / f"{TASK}_test.txt").write_text(TEST + "3 Where is Mary? \tbathroom")  # no newline
    babi = BABI(path=str(tmp_path), task=TASK, subset="en-10k")
    assert babi.train_file == str(folder / f"{TASK}_train.txt")
    assert len(babi.test_parsed) == 1  # neon drops what follows the last newline


def test_missing_archive_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileError, match=r"Put tasks_1-20_v1-2\.tar\.gz .* at "):
        BABI(path=str(tmp_path / "data"), task=TASK)


def test_archive_without_the_task_or_unreadable(tmp_path: Path) -> None:
    _archive(tmp_path, {f"en/{TASK}_train.txt": TRAIN})
    with pytest.raises(DatasetFormatError, match=r"has no tasks_1-20_v1-2/en/.*_test\.txt"):
        BABI(path=str(tmp_path), task=TASK)
    (tmp_path / "tasks_1-20_v1-2.tar.gz").write_bytes(b"not a tar archive")
    with pytest.raises(DatasetFormatError, match=r"not a readable \.tar\.gz"):
        BABI(path=str(tmp_path), task=TASK)


def test_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="'qa21' is not a bAbI task"):
        BABI(path=str(tmp_path), task="qa21")


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ("Mary moved.\n", "does not start with a line number"),
        ("1 Mary moved.\n2 Where is Mary? \tbathroom\n", "2 tab-separated fields"),
        ("1 Where is Mary? \tbathroom\t1\n", "before any statement"),
        ("1 Mary moved.\n\n", "line 2 .* does not start with a line number"),
    ],
)
def test_format_errors_name_file_and_line(tmp_path: Path, train: str, message: str) -> None:
    _archive(tmp_path, _task_files(train=train))
    with pytest.raises(DatasetFormatError, match=message):
        BABI(path=str(tmp_path), task=TASK)


def test_qa_iterator_shuffles_from_be_rng_and_drops_the_remainder(tmp_path: Path) -> None:
    be = gen_backend("cpu", rng_seed=3, batch_size=2)
    story = np.arange(5 * 3).reshape(5, 3)
    query = np.arange(5 * 2).reshape(5, 2) + 100
    answer = np.eye(5)
    qa = QA(story, query, answer)
    assert (qa.ndata, qa.nbatches, qa.shape) == (5, 2, [(3, 1), (2, 1)])
    order = np.random.RandomState(3).permutation(5)
    batches = list(qa)
    assert len(batches) == 2
    (s, q), a = batches[1]
    assert s.shape == (2, 3) and q.shape == (2, 2) and a.shape == (2, 5)
    assert s.dtype == be.torch_dtype
    np.testing.assert_array_equal(s.numpy(), story[order[2:4]])
    np.testing.assert_array_equal(q.numpy(), query[order[2:4]])
    np.testing.assert_array_equal(a.numpy(), answer[order[2:4]])
    second = np.random.RandomState(3)
    second.permutation(5)
    again = order[second.permutation(5)]  # the next pass reshuffles the shuffled arrays
    qa.reset()
    (s, _), _ = next(iter(qa))
    np.testing.assert_array_equal(s.numpy(), story[again[:2]])
    assert qa.batch_index == 1
    qa.reset()
    assert qa.batch_index == 0


def test_host_arrays_convert_to_scalars_when_they_hold_one_element() -> None:
    probs = Tensor(torch.tensor([[0.25], [0.75]])).get()
    top = np.argpartition(probs, -1, axis=0)[-1:]
    assert int(top[np.argsort(probs[top], axis=0)][0]) == 1  # demo.py's (1, 1, 1) index
    assert float(probs[1]) == 0.75
    with pytest.raises(TypeError):
        int(probs)
