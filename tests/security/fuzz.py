"""Seeded byte-level mutants of a real neon pickle and of our own format, and where in a
legacy pickle the array bytes lie (bytes no check can see: neon's files carry no checksum)."""

from __future__ import annotations

import pickletools
import random
from pathlib import Path


def mutate(data: bytes, rnd: random.Random) -> tuple[bytes, list[int]]:
    """``(mutant, positions)``: where the source's bytes were changed, cut, or inserted into."""
    out = bytearray(data)
    kind = rnd.choice(("flip", "flip", "flip", "swap", "truncate", "insert", "delete", "dup"))
    if kind == "flip":
        positions = sorted({rnd.randrange(len(out)) for _ in range(rnd.randint(1, 4))})
        for p in positions:
            out[p] = (out[p] + rnd.randrange(1, 256)) % 256
        return bytes(out), positions
    if kind == "swap":
        a, b = rnd.randrange(len(out)), rnd.randrange(len(out))
        out[a], out[b] = out[b], out[a]
        return bytes(out), sorted({a, b}) if out != data else []
    if kind == "truncate":
        cut = rnd.randrange(len(out))
        return bytes(out[:cut]), [cut]
    at = rnd.randrange(len(out))
    if kind == "insert":
        out[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
    elif kind == "delete":
        del out[at : at + rnd.randint(1, 16)]
    else:
        start = rnd.randrange(len(out))
        out[at:at] = out[start : start + rnd.randint(1, 64)]
    return bytes(out), [at]


def array_byte_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of a protocol-2 pickle that hold array and scalar data: the text passed to
    ``_codecs.encode`` (how protocol 2 stores the bytes of numpy arrays)."""
    ops = list(pickletools.genops(data))
    encode_memo = None
    ranges = []
    for i, (op, arg, pos) in enumerate(ops):
        if op.name in ("BINPUT", "LONG_BINPUT") and i and ops[i - 1][1] == "_codecs encode":
            encode_memo = arg
        if op.name != "BINUNICODE" or not i:
            continue
        before, before_arg, _ = ops[i - 1]
        if before_arg == "_codecs encode" or (
            before.name in ("BINGET", "LONG_BINGET") and before_arg == encode_memo
        ):
            ranges.append((pos + 5, pos + 5 + len(arg.encode("utf-8"))))
    return ranges


def unseeable(positions: list[int], ranges: list[tuple[int, int]]) -> bool:
    """True when a change lies inside the array data of a file without a checksum: no check
    can tell those bytes from the original ones."""
    return any(a <= p < b for p in positions for a, b in ranges)


def write_mutants(source: Path, count: int, seed: int, out: Path) -> list[tuple[Path, bool]]:
    """``count`` mutants of ``source`` under ``out``: ``[(path, unseeable), ...]``."""
    data = source.read_bytes()
    ranges = array_byte_ranges(data) if data[:2] == b"\x80\x02" else []
    rnd = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    mutants = []
    for i in range(count):
        mutant, positions = mutate(data, rnd)
        path = out / f"m{i:04d}.prm"
        path.write_bytes(mutant)
        mutants.append((path, unseeable(positions, ranges)))
    return mutants
