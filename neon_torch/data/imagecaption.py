"""neon's image-captioning data: ``ImageCaption``, ``ImageCaptionTest`` and the ``Flickr8k``,
``Flickr30k`` and ``Coco`` datasets.

On disk (neon's repackaging of Karpathy's *deepimagesent* data): ``<name>.zip`` holds
``<name>/features.pkl.gz``, a gzipped pickle ``{'sents': {'train': [image, ...], 'test':
[image, ...]}, 'feats': array (4096, n_images)}`` where each image is a dict with ``imgid``
(its column of ``feats``, precomputed VGG features) and ``sentences``, a list of dicts whose
``tokens`` are the caption's words. The pickle is read with neon_torch's restricted unpickler
(plain containers, strings, numbers and numeric arrays only).

``ImageCaptionTest.bleu_score`` writes ``output`` and ``reference0``, ``reference1``, ... in
the data directory and runs Karpathy's ``multi-bleu.perl`` there with ``perl``, as neon does
(the script is downloaded next to them when absent).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.backend import current_backend
from ..compat._logger import neon_logger
from ..errors import NeonTorchError, ShapeMismatchError
from ..registry import neon_type
from ..serialization.legacy_pickle import load_pickle
from .dataiterator import NervanaDataIterator
from .datasets import Dataset, DatasetFileError, DatasetFormatError

__all__ = ["Coco", "Flickr8k", "Flickr30k", "ImageCaption", "ImageCaptionTest"]

_URL = "https://s3-us-west-1.amazonaws.com/neon-stockdatasets/image-caption"
_FEATURES = "features.pkl.gz"
_BLEU_URL = "https://raw.githubusercontent.com/karpathy/neuraltalk/master/eval/"
_BLEU_SCRIPT = "multi-bleu.perl"
# tokenised captions are many short strings: allow one string or container per 4 bytes read
_STRINGS_PER_BYTE = 1 / 4


class BleuScriptError(NeonTorchError, RuntimeError):
    """``multi-bleu.perl`` could not be run (no ``perl`` on the PATH)."""


def _read_features(path: str) -> dict[str, Any]:
    """The ``features.pkl.gz`` tree in directory ``path``, its layout checked."""
    file = os.path.join(path, _FEATURES)
    if not os.path.exists(file):
        raise DatasetFileError(
            f"{file} is missing. Put {_FEATURES} (from flickr8k.zip, flickr30k.zip or coco.zip "
            f"at {_URL}) at {file}, or pass the directory holding it as the path."
        )
    try:
        with gzip.open(file, "rb") as f:
            data = load_pickle(f, file, containers_per_byte=_STRINGS_PER_BYTE)  # type: ignore[arg-type]
    except (OSError, EOFError, NeonTorchError) as err:
        raise DatasetFormatError(f"{file}: not neon's gzipped features pickle ({err}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("sents"), dict):
        raise DatasetFormatError(
            f"{file}: expected a dict {{'sents': {{'train': [...], 'test': [...]}}, 'feats': "
            f"array}}, got {type(data).__name__} with keys "
            f"{sorted(map(str, data)) if isinstance(data, dict) else '-'}."
        )
    feats = data.get("feats")
    if not isinstance(feats, np.ndarray) or feats.ndim != 2:
        raise DatasetFormatError(
            f"{file}: 'feats' must be a 2-D array (feature size, n_images), got "
            f"{getattr(feats, 'shape', type(feats).__name__)}."
        )
    if feats.shape[0] != ImageCaption.image_size:
        raise DatasetFormatError(
            f"{file}: 'feats' has {feats.shape[0]} features per image; neon's ImageCaption "
            f"reads {ImageCaption.image_size} (VGG features), as (4096, n_images)."
        )
    return data


def _split(data: dict[str, Any], split: str, file: str) -> list[dict[str, Any]]:
    """The image records of ``split``, each checked for ``imgid`` and tokenised sentences."""
    images = data["sents"].get(split)
    if not isinstance(images, list):
        raise DatasetFormatError(
            f"{file}: 'sents' has no {split!r} list of images (keys: "
            f"{sorted(map(str, data['sents']))})."
        )
    n_feats = data["feats"].shape[1]
    for i, img in enumerate(images):
        ok = isinstance(img, dict) and isinstance(img.get("sentences"), list)
        imgid = img.get("imgid") if ok else None
        ok = ok and isinstance(imgid, (int, np.integer)) and 0 <= imgid < n_feats
        ok = ok and all(
            isinstance(s, dict) and isinstance(s.get("tokens"), list) for s in img["sentences"]
        )
        if not ok:
            raise DatasetFormatError(
                f"{file}: image {i} of {split!r} must be a dict with 'imgid' (a column of "
                f"'feats', < {n_feats}) and 'sentences' (dicts with a 'tokens' list); got "
                f"{img!r:.200}."
            )
    return images


@neon_type("neon.data.imagecaption.ImageCaption", "neon.data.ImageCaption")
class ImageCaption(NervanaDataIterator):
    """Training minibatches of image features and captions from ``<path>/features.pkl.gz``.

    neon semantics:

    * vocabulary: ``'.'`` (the end token, index 0) followed by the training captions' words
      seen at least 5 times, in order of first appearance; ``vocab_size``, ``vocab_to_index``,
      ``index_to_vocab``; ``max_sentence_length`` = the longest training caption + 1;
      ``bias_init`` ``(vocab_size, 1)``: log word frequencies (the end token counted once per
      caption) minus their maximum, to initialise the output layer's bias;
    * one sample per (image, caption) pair; a caption becomes ``'.'`` + its in-vocabulary
      words. ``max_images > 0`` stops after ``max_images + 1`` pairs (neon's count);
    * ``nbatches = pairs // be.bsz``, ``ndata = nbatches · bsz``; every pass shuffles all
      pairs with ``be.rng.permutation`` and drops the incomplete last minibatch;
    * ``shape = [4096, (vocab_size, max_sentence_length)]`` (image stream, caption stream);
      a minibatch is ``(image, x), (y, mask)``: ``x`` is the caption one-hot, padded with
      index 0; ``y`` has one step more (the image comes first in the model), ``y[t] = x[t]``
      and the extra last step index 0; with ``n`` the caption's kept words, ``mask`` is 1 for
      steps ``t <= n + 2`` (the words, the end token at ``n + 1`` and, as in neon, one
      padding step more) and ``y`` is masked by it.

    neon_torch: minibatches are batch-first: ``image (bsz, 4096)``, ``x (bsz, T, vocab_size)``,
    ``y`` and ``mask (bsz, T + 1, vocab_size)`` with ``T = max_sentence_length``.

    Raises:
        DatasetFileError: ``features.pkl.gz`` is absent.
        DatasetFormatError: it is not laid out as described in the module docstring.
        ShapeMismatchError: fewer captions than one minibatch.
    """

    end_token = "."
    image_size = 4096

    def __init__(self, path: str, max_images: int = -1) -> None:
        super().__init__(name=None)
        self.path = path
        neon_logger.display(f"Reading train images and sentences from {self.path}")
        self.read_images("train")
        self.load_vocab()
        sents: list[list[str]] = []
        imgs: list[np.ndarray] = []
        for pair in self.iterImageSentencePair():
            if len(sents) > max_images and max_images > 0:
                break
            imgs.append(pair["image"])
            sent = [self.end_token] + [
                w for w in pair["sentence"]["tokens"] if w in self.vocab_to_index
            ]
            sents.append(sent[: self.max_sentence_length])
        self.nbatches = _batches(len(imgs), "captions", self.path)
        self.ndata = self.nbatches * current_backend().bsz
        steps = self.max_sentence_length
        self.X = np.zeros((len(sents), steps))
        self.y = np.zeros((len(sents), steps + 1))
        self.images = np.vstack(imgs)
        self.sent_length = np.array([len(s) + 1 for s in sents])
        for i, sent in enumerate(sents):
            self.X[i, : len(sent)] = [self.vocab_to_index[w] for w in sent]
        self.y[:, :-1] = self.X

    def read_images(self, split: str) -> None:
        """Load ``features.pkl.gz`` and keep ``split``'s image records (``sent_data``) and the
        feature matrix (``features``, ``(4096, n_images)``)."""
        self.dataset = _read_features(self.path)
        self.sent_data = _split(self.dataset, split, os.path.join(self.path, _FEATURES))
        self.features = self.dataset["feats"]

    def load_vocab(self) -> None:
        """Build the vocabulary, ``bias_init``, ``max_sentence_length`` and ``shape`` from the
        current split's captions (see the class docstring)."""
        sentences = [s["tokens"] for s in self.iterSentences()]
        if not sentences:
            raise DatasetFormatError(
                f"{os.path.join(self.path, _FEATURES)}: the training split has no captions."
            )
        counts = Counter(w for sent in sentences for w in sent)
        vocab = [self.end_token] + [w for w in counts if counts[w] >= 5]
        self.vocab_size = len(vocab)
        self.vocab_to_index = {w: i for i, w in enumerate(vocab)}
        self.index_to_vocab = dict(enumerate(vocab))
        counts[self.end_token] = len(sentences)
        freq = np.array([1.0 * counts[self.index_to_vocab[i]] for i in self.index_to_vocab])
        log_freq = np.log(freq.reshape(self.vocab_size, 1) / freq.sum())
        self.bias_init = log_freq - log_freq.max()
        self.max_sentence_length = max(len(s) for s in sentences) + 1
        self.shape: Any = [self.image_size, (self.vocab_size, self.max_sentence_length)]
        neon_logger.display(
            f"Vocab size: {self.vocab_size}, Max sentence length: {self.max_sentence_length}"
        )

    def _getImage(self, img: dict[str, Any]) -> np.ndarray:
        """The feature vector ``(4096,)`` of an image record."""
        return self.features[:, img["imgid"]]

    def iterSentences(self) -> Iterator[dict[str, Any]]:
        """Every caption record of the split."""
        for img in self.sent_data:
            yield from img["sentences"]

    def iterImageSentencePair(self) -> Iterator[dict[str, Any]]:
        """``{'image': features, 'sentence': caption record}`` for every caption."""
        for img in self.sent_data:
            for sent in img["sentences"]:
                yield {"image": self._getImage(img), "sentence": sent}

    def iterImageSentenceGroup(self) -> Iterator[dict[str, Any]]:
        """``{'image': features, 'sentences': [caption records]}`` for every image."""
        for img in self.sent_data:
            yield {"image": self._getImage(img), "sentences": img["sentences"]}

    @staticmethod
    def _placement() -> dict[str, Any]:
        """The backend's device and float dtype, as ``Tensor.to`` keywords."""
        be = current_backend()
        return {"device": be.device, "dtype": be.torch_dtype}

    def _onehot(self, ids: np.ndarray) -> torch.Tensor:
        """One-hot ``(*ids.shape, vocab_size)`` on the backend's device."""
        hot = F.one_hot(torch.from_numpy(ids.astype(np.int64)), self.vocab_size)
        return hot.to(**self._placement())

    def _image_batch(self, start: int, end: int) -> torch.Tensor:
        """Image features ``(end - start, 4096)`` on the backend's device."""
        return torch.as_tensor(self.images[start:end]).to(**self._placement())

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        order = current_backend().rng.permutation(len(self.X))
        self.X, self.y, self.images = self.X[order], self.y[order], self.images[order]
        self.sent_length = self.sent_length[order]
        bsz = current_backend().bsz
        steps = np.arange(self.max_sentence_length + 1)
        for k in range(self.nbatches):
            start, end = k * bsz, (k + 1) * bsz
            valid = torch.as_tensor(steps[None, :] <= self.sent_length[start:end, None])
            mask = valid[:, :, None].expand(-1, -1, self.vocab_size).to(**self._placement())
            y = self._onehot(self.y[start:end]) * mask
            yield (self._image_batch(start, end), self._onehot(self.X[start:end])), (y, mask)

    def prob_to_word(self, prob: Any) -> list[str]:
        """Captions (strings) from word scores in neon's layout ``(vocab_size, T · bsz)``
        (column ``t · bsz + n`` is step t of sample n; an array or a backend Tensor): each
        caption is the argmax words from step 0 up to and including the first end token
        after step 0, at most 21 words."""
        scores = prob.get() if hasattr(prob, "get") else np.asarray(prob)
        words = [self.index_to_vocab[i] for i in np.argmax(scores, axis=0).tolist()]
        bsz = current_backend().bsz
        sents = []
        for n in range(bsz):
            sent = []
            for i in range(self.max_sentence_length):
                word = words[bsz * i + n]
                sent.append(word)
                if (i > 0 and word == self.end_token) or i >= 20:
                    break
            sents.append(" ".join(sent))
        return sents

    def predict(self, model: Any) -> tuple[list[str], list[Any]]:
        """Greedy captions for every minibatch of this iterator.

        neon semantics: the caption input starts all zero; for ``step = 1 ..
        max_sentence_length`` the model is run (inference) on ``(image, caption)`` and the
        caption's first ``step`` positions become the one-hot argmax of the outputs at steps
        ``0 .. step - 1`` (output step 0 is the image's). Returns the captions
        (:meth:`prob_to_word`) and the targets: for ``ImageCaptionTest`` each image's reference
        captions, for ``ImageCaption`` each minibatch's one-hot targets ``y``.
        """
        sents: list[str] = []
        targets: list[Any] = []
        steps = self.max_sentence_length
        for x, t in self:
            image = x[0]
            caption = torch.zeros_like(x[1])  # (bsz, T, vocab)
            for step in range(1, steps + 1):
                out = model.fprop([image, caption], inference=True)  # (bsz, T + 1, vocab)
                scores = out[:, :-1].detach().float().cpu().numpy()
                caption.zero_()
                caption[:, :step] = self._onehot(np.argmax(scores, axis=2)[:, :step])
            neon_layout = caption.permute(2, 1, 0).reshape(self.vocab_size, -1)
            sents += self.prob_to_word(neon_layout.cpu().numpy())
            if isinstance(self, ImageCaptionTest):
                targets += t[0]
            else:
                targets.append(t[0])
        return sents, targets

    def bleu_score(self, sents: list[str], targets: list[list[str]]) -> None:
        """Write ``output`` (the captions, end tokens stripped) and ``reference<i>`` (the i-th
        reference caption of every image; as many files as the first image has references)
        into the data directory, then run ``perl multi-bleu.perl reference < output`` there
        and print what it prints, as neon does (the script is fetched from neuraltalk when it
        is not in the directory).

        Raises:
            DatasetFileError: ``multi-bleu.perl`` is absent and could not be downloaded.
            BleuScriptError: no ``perl`` executable on the PATH.
        """
        num_ref = len(targets[0])
        output_file = os.path.join(self.path, "output")
        neon_logger.display(f"Writing output and reference sents to dir {self.path}")
        with open(output_file, "w", encoding="utf-8") as out:
            for sent in sents:
                out.write(" ".join(sent.strip(self.end_token).split()) + "\n")
        for i in range(num_ref):
            with open(os.path.join(self.path, f"reference{i}"), "w", encoding="utf-8") as ref:
                for refs in targets:
                    ref.write(refs[i] + "\n")
        script = os.path.join(self.path, _BLEU_SCRIPT)
        if not os.path.exists(script):
            Dataset.fetch_dataset(_BLEU_URL, _BLEU_SCRIPT, script, int(6e6))
        perl = shutil.which("perl")
        if perl is None:
            raise BleuScriptError(
                f"bleu_score: no perl on the PATH to run {_BLEU_SCRIPT}; the captions and "
                f"references are in {self.path}: install perl, or score them there with "
                f"'perl {_BLEU_SCRIPT} reference < output'."
            )
        command = f"perl {_BLEU_SCRIPT} reference < output"
        neon_logger.display(f"Executing bleu eval script: {command}")
        with open(output_file, "rb") as hypotheses:
            done = subprocess.run(
                [perl, _BLEU_SCRIPT, "reference"],
                stdin=hypotheses,
                capture_output=True,
                cwd=self.path,
                check=False,
            )
        print(done.stdout.decode("utf-8", "replace"), end="", flush=True)
        if done.stderr:
            print(done.stderr.decode("utf-8", "replace"), end="", flush=True)


@neon_type("neon.data.imagecaption.ImageCaptionTest", "neon.data.ImageCaptionTest")
class ImageCaptionTest(ImageCaption):
    """Test minibatches: one sample per test image, with all its reference captions.

    neon semantics: the vocabulary, ``bias_init``, ``max_sentence_length`` and ``shape`` come
    from the *training* split (as in :class:`ImageCaption`); ``nbatches = test images //
    be.bsz``; ``ref_sents`` holds each image's captions (tokens joined by spaces). A minibatch
    is ``(image, x), (references, None)`` with ``x`` all zero and ``references`` the
    minibatch's lists of reference captions; no shuffling.

    neon_torch: ``image (bsz, 4096)``, ``x (bsz, max_sentence_length, vocab_size)``.
    """

    def __init__(self, path: str) -> None:
        NervanaDataIterator.__init__(self, name=None)
        self.path = path
        neon_logger.display(f"Reading test images and sentences from {self.path}")
        self.read_images("train")
        self.load_vocab()
        self.read_images("test")
        imgs, refs = [], []
        for group in self.iterImageSentenceGroup():
            imgs.append(group["image"])
            refs.append([" ".join(s["tokens"]) for s in group["sentences"]])
        self.nbatches = _batches(len(imgs), "test images", self.path)
        self.ndata = self.nbatches * current_backend().bsz
        self.images = np.vstack(imgs)
        self.ref_sents = refs

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        bsz = current_backend().bsz
        shape = (bsz, self.max_sentence_length, self.vocab_size)
        for k in range(self.nbatches):
            start, end = k * bsz, (k + 1) * bsz
            caption = torch.zeros(shape, **self._placement())
            yield (self._image_batch(start, end), caption), (self.ref_sents[start:end], None)


def _batches(count: int, what: str, path: str) -> int:
    """Full minibatches of ``be.bsz`` in ``count`` samples (at least one)."""
    bsz = current_backend().bsz
    if bsz <= 0:
        raise ValueError("be.bsz is 0; pass batch_size to gen_backend (or set be.bsz).")
    if count < bsz:
        raise ShapeMismatchError(
            f"{os.path.join(path, _FEATURES)}: {count} {what} are fewer than one minibatch "
            f"(be.bsz={bsz}); use a smaller batch size."
        )
    return count // bsz


class _CaptionDataset(Dataset):
    """``Dataset`` of neon's zipped caption data: ``train`` and ``test`` iterators."""

    def __init__(self, filename: str, size: int, path: str, max_images: int) -> None:
        super().__init__(filename, _URL, size, path=path)
        self.max_images = max_images

    def load_data(self) -> str:
        """The data directory: ``<path>/<name>.zip`` extracted into ``path`` (downloaded when
        absent), or, without the zip, an already extracted ``<path>/<name>/`` holding
        ``features.pkl.gz``."""
        extracted = os.path.join(self.path, self.filename.split(".zip")[0])
        zipped = os.path.join(self.path, self.filename)
        if not os.path.exists(zipped) and os.path.exists(os.path.join(extracted, _FEATURES)):
            return extracted
        return self.load_zip(self.filename, self.size)

    def gen_iterators(self) -> dict[str, Any]:
        """``{'train': ImageCaption, 'test': ImageCaptionTest}`` over the data directory."""
        data_path = self.load_data()
        return {
            "train": ImageCaption(path=data_path, max_images=self.max_images),
            "test": ImageCaptionTest(path=data_path),
        }


@neon_type("neon.data.imagecaption.Flickr8k", "neon.data.Flickr8k")
class Flickr8k(_CaptionDataset):
    """neon's Flickr8k captions: ``flickr8k.zip`` in ``path`` (see the module docstring);
    ``train_iter`` is an :class:`ImageCaption` (``max_images`` passed on), ``test_iter`` an
    :class:`ImageCaptionTest`."""

    def __init__(self, path: str = ".", max_images: int = -1) -> None:
        super().__init__("flickr8k.zip", 49165563, path, max_images)


@neon_type("neon.data.imagecaption.Flickr30k", "neon.data.Flickr30k")
class Flickr30k(_CaptionDataset):
    """neon's Flickr30k captions: ``flickr30k.zip`` in ``path``; as :class:`Flickr8k`."""

    def __init__(self, path: str = ".", max_images: int = -1) -> None:
        super().__init__("flickr30k.zip", 49165563, path, max_images)


@neon_type("neon.data.imagecaption.Coco", "neon.data.Coco")
class Coco(_CaptionDataset):
    """neon's MSCOCO captions: ``coco.zip`` in ``path``; as :class:`Flickr8k`."""

    def __init__(self, path: str = ".", max_images: int = -1) -> None:
        super().__init__("coco.zip", 738051031, path, max_images)
