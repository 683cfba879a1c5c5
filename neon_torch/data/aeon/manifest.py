"""aeon manifest files: a tab-separated table whose ``@`` header line names each column's
element type, read into records and cut into blocks as aeon did.

Format (aeon 1.x/2.x): lines are ``\\t``-separated; the first non-empty, non-comment line is
the header, ``@`` followed by one type per column (``FILE``, ``STRING``, ``BINARY``,
``ASCII_INT``, ``ASCII_FLOAT``); ``#`` starts a comment line; empty lines are skipped; every
data line has as many columns as the header. ``FILE`` elements are paths relative to
``manifest_root`` (joined to it when it is not empty) and are read as bytes; ``STRING``
elements are the text itself.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._config import AeonConfigError

__all__ = ["ELEMENT_TYPES", "Manifest", "read_element", "subset_records"]

#: The element types a manifest header may name.
ELEMENT_TYPES = ("FILE", "BINARY", "STRING", "ASCII_INT", "ASCII_FLOAT")


def read_element(kind: str, value: str) -> bytes:
    """The bytes an aeon extractor receives for one manifest element."""
    if kind == "FILE":
        with open(value, "rb") as f:
            return f.read()
    if kind == "STRING":
        return value.encode()
    if kind == "BINARY":
        return base64.b64decode(value)
    if kind == "ASCII_INT":
        return struct.pack("<i", int(value))
    return struct.pack("<f", float(value))


def subset_records(records: list[list[str]], fraction: float) -> list[list[str]]:
    """aeon's ``subset_fraction``: ``floor(n * fraction)`` records kept in manifest order.

    Each record is kept with probability ``fraction`` (a Bernoulli draw from a generator seeded
    with 0) unless the records left are exactly the number still needed; selection stops when
    enough are chosen. aeon used ``std::default_random_engine(0)``; this uses numpy's PCG64
    seeded with 0, so the count and the algorithm match aeon but not which records are kept.
    """
    if not 0.0 < fraction <= 1.0:
        raise AeonConfigError(
            f"aeon subset_fraction={fraction!r}; expected a number in (0, 1]. Pass e.g. 0.1 "
            "for 10 % of the manifest."
        )
    if fraction >= 1.0:
        return records
    rng = np.random.default_rng(0)
    needed = int(len(records) * np.float32(fraction))
    chosen: list[list[str]] = []
    unbounded = needed == 0  # aeon's counter wrapped around here and never stopped early
    for i, rec in enumerate(records):
        if (not unbounded and needed == len(records) - i) or rng.random() < fraction:
            chosen.append(rec)
            if not unbounded:
                needed -= 1
                if needed == 0:
                    break
    return chosen


@dataclass
class Manifest:
    """A parsed manifest: element types, records (root-joined paths) and aeon's blocks.

    neon semantics (aeon's ``manifest_file``): the records are cut to ``subset_fraction``
    first, then shuffled once when ``shuffle`` (``shuffle_manifest``) is set, then grouped into
    blocks of ``block_size`` records in that order.
    """

    path: str
    types: list[str]
    records: list[list[str]]
    block_size: int
    blocks: list[list[int]] = field(default_factory=list)

    @classmethod
    def read(
        cls,
        path: str,
        root: str = "",
        subset_fraction: float = 1.0,
        shuffle: bool = False,
        seed: int = 0,
        block_size: int = 5000,
    ) -> Manifest:
        """Parse ``path``; see the class docstring for the order of the steps."""
        if not os.path.isfile(path):
            raise AeonConfigError(
                f"aeon manifest_filename {path!r} does not exist; expected a tab-separated "
                "manifest file (run the dataset's ingest script first)."
            )
        types: list[str] = []
        records: list[list[str]] = []
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.rstrip("\r\n")
                if not line or line.startswith("#"):
                    continue
                if line.startswith("@"):
                    if types:
                        raise AeonConfigError(
                            f"{path}:{lineno}: a second '@' header line; a manifest has one "
                            "header, before any data."
                        )
                    types = line[1:].split("\t")
                    bad = [t for t in types if t not in ELEMENT_TYPES]
                    if bad:
                        raise AeonConfigError(
                            f"{path}:{lineno}: unknown element type(s) {bad}; expected "
                            f"{list(ELEMENT_TYPES)}."
                        )
                    continue
                if not types:
                    raise AeonConfigError(
                        f"{path}:{lineno}: data before the '@' header line; aeon manifests "
                        "start with a header such as '@FILE\\tSTRING' (old comma-separated "
                        "manifests must be converted)."
                    )
                cols = line.split("\t")
                if len(cols) != len(types):
                    raise AeonConfigError(
                        f"{path}:{lineno}: {len(cols)} tab-separated element(s), but the header "
                        f"declares {len(types)} ({types}); fix the line."
                    )
                records.append(cols)
        if not records:
            raise AeonConfigError(f"aeon manifest {path!r} holds no records; it is empty.")
        records = subset_records(records, subset_fraction)
        if shuffle:
            order = np.random.default_rng(seed).permutation(len(records))
            records = [records[i] for i in order]
        if root:
            for rec in records:
                for i, kind in enumerate(types):
                    if kind == "FILE":
                        rec[i] = os.path.join(root, rec[i])
        block_size = max(int(block_size), 1)
        out = cls(path, types, records, block_size)
        out.blocks = [
            list(range(s, min(s + block_size, len(records))))
            for s in range(0, len(records), block_size)
        ]
        return out

    def __len__(self) -> int:
        return len(self.records)

    def pass_order(self, pass_index: int, reshuffle: bool, seed: int) -> list[int]:
        """Record indices of the ``pass_index``-th pass over the data.

        aeon kept the records of a block together and, when blocks were to be shuffled
        (``shuffle_manifest``/``shuffle_enable``), drew a new block order for every pass after
        the first; the records inside a block keep their order.
        """
        order: Sequence[int] | np.ndarray = range(len(self.blocks))
        if reshuffle and pass_index > 0 and len(self.blocks) > 1:
            order = np.random.default_rng([seed, pass_index]).permutation(len(self.blocks))
        return [i for b in order for i in self.blocks[b]]
