"""Data iterators (neon's ``neon.data``)."""

from .dataiterator import ArrayIterator, LabelError, NervanaDataIterator

__all__ = ["ArrayIterator", "LabelError", "NervanaDataIterator"]
