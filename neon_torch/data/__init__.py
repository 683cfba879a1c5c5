"""Data iterators and datasets (neon's ``neon.data``)."""

from .corpora import PTB, SICK, HutterPrize, Shakespeare
from .dataiterator import ArrayIterator, LabelError, NervanaDataIterator
from .datasets import Dataset, DatasetFileError, DatasetFormatError
from .hdf5iterator import HDF5Iterator, HDF5IteratorAutoencoder, HDF5IteratorOneHot
from .image import CIFAR10, MNIST
from .imagecaption import Coco, Flickr8k, Flickr30k, ImageCaption, ImageCaptionTest
from .imdb import IMDB
from .questionanswer import BABI, QA
from .text import Text, TextNMT, VocabularyError
from .ticker import CopyTask, PrioritySortTask, RepeatCopyTask, Task, Ticker

__all__ = [
    "BABI",
    "CIFAR10",
    "IMDB",
    "MNIST",
    "PTB",
    "QA",
    "SICK",
    "ArrayIterator",
    "Coco",
    "CopyTask",
    "Dataset",
    "DatasetFileError",
    "DatasetFormatError",
    "Flickr8k",
    "Flickr30k",
    "HDF5Iterator",
    "HDF5IteratorAutoencoder",
    "HDF5IteratorOneHot",
    "HutterPrize",
    "ImageCaption",
    "ImageCaptionTest",
    "LabelError",
    "NervanaDataIterator",
    "PrioritySortTask",
    "RepeatCopyTask",
    "Shakespeare",
    "Task",
    "Text",
    "TextNMT",
    "Ticker",
    "VocabularyError",
]
