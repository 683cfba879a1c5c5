"""Data iterators (neon's ``neon.data``)."""

from .dataiterator import ArrayIterator, LabelError, NervanaDataIterator
from .text import Text, VocabularyError

__all__ = ["ArrayIterator", "LabelError", "NervanaDataIterator", "Text", "VocabularyError"]
