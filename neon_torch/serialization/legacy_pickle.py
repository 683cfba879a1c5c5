"""Read the ``.prm`` pickles written by neon with an interpreter that only produces plain data.

neon's ``save_params`` writes ``pickle.dump(description, f, 2)``: dicts, lists, tuples,
strings and numbers, plus numpy arrays (and sometimes numpy scalars). This module does not use
:mod:`pickle` to read them. It runs the pickle opcodes itself, and nothing it does can create
an object other than:

* ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict``,
  ``set`` and ``frozenset`` (``collections.OrderedDict`` becomes a plain dict);
* numpy arrays and scalars of a numeric dtype (bool, int, uint, float, complex), made from a
  byte string whose length is exactly the shape times the item size.

The few globals a numpy pickle names (``_reconstruct``, ``ndarray``, ``dtype``, ``scalar``,
``_frombuffer``, ``_codecs.encode``, ``OrderedDict``, ``set``, ``frozenset``) are recognised by
name and interpreted here, with their arguments checked; none of them is ever looked up or called.
The recurrent layer classes ``GRU`` and ``LSTM`` (which neon's ``SkipThought`` pickles as its
``rec_layer``) are read as their type-string names. Any other global is refused. ``BUILD`` is
accepted only where numpy's own pickles use it: to give an array its shape, dtype and bytes, and a
dtype its byte order.

Hostile structure is refused too: a cycle, shared references that expand the tree far beyond
the containers stored (neon's own sharing, e.g. one dict used by several layers, is read as
copies), nesting
deeper than :data:`MAX_DEPTH`, dict keys and set items other than scalars or flat tuples of
scalars, an array never given its data, and lengths that run past the end of the input. The
input is read through a byte budget, so a gzip stream cannot expand without limit. Every
refusal raises :class:`~neon_torch.errors.UnsafePickleError` (something neon never writes) or
:class:`~neon_torch.errors.PrmFormatError` (truncated or corrupted), naming the file.

Python 2 pickles (``str`` payloads of numpy arrays) read as pickle's ``encoding='latin1'``.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ..errors import PrmFormatError, UnsafePickleError

__all__ = ["CONTAINERS_PER_BYTE", "MAX_DEPTH", "MAX_LONG_BYTES", "MIN_CONTAINERS", "load_pickle"]

MAX_DEPTH = 100
"""Deepest nesting of containers accepted (neon's deepest descriptions need about 30)."""

MAX_LONG_BYTES = 64
"""Longest integer accepted, in bytes (neon stores seeds and counters)."""

MIN_CONTAINERS = 1 << 16
CONTAINERS_PER_BYTE = 1 / 16
"""A pickle may create at most MIN_CONTAINERS + one container or string per 16 bytes read
(Python takes 50 to 100 bytes for each; neon's files have about one per 40 bytes)."""

_LARGE = 4096  # payloads above this size are never kept for a second reference
_CHUNK = 1 << 16
_MAX_PAYLOAD = 1 << 40  # no single string or array of a neon file comes near a TiB
_SHARED_TUPLE = 8  # flat tuples up to this length are kept as one object when shared
_SHARED_VISITS = 1 << 16  # container visits through shared references beyond the distinct ones
_SCALARS = (type(None), bool, int, float, str, bytes)
_CODECS = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "latin"}
_NUMERIC_KINDS = "biufc"


class _Refused(Exception):
    """Raised inside the interpreter; :func:`load_pickle` turns it into a typed error."""

    def __init__(self, message: str, unsafe: bool = False) -> None:
        super().__init__(message)
        self.unsafe = unsafe


class _Global:
    """A recognised global: only its name is kept; the interpreter decides what it means."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_RECONSTRUCT = _Global("numpy _reconstruct")
_NDARRAY = _Global("numpy.ndarray")
_DTYPE = _Global("numpy.dtype")
_SCALAR = _Global("numpy scalar")
_FROMBUFFER = _Global("numpy _frombuffer")
_ENCODE = _Global("_codecs.encode")
_ORDERED_DICT = _Global("collections.OrderedDict")
_SET = _Global("set")
_FROZENSET = _Global("frozenset")

_GLOBALS: dict[tuple[str, str], _Global] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): _ENCODE,
    ("collections", "OrderedDict"): _ORDERED_DICT,
    ("builtins", "set"): _SET,
    ("__builtin__", "set"): _SET,
    ("builtins", "frozenset"): _FROZENSET,
    ("__builtin__", "frozenset"): _FROZENSET,
}

#: neon layer classes a description may hold as values (``SkipThought``'s ``rec_layer``); they
#: are read as their neon type string, never looked up or called
_LAYER_CLASSES = frozenset(
    (module, name)
    for module in ("neon.layers.recurrent", "neon.layers")
    for name in ("GRU", "LSTM")
)


class _Dtype:
    """A numeric numpy dtype under construction (``BUILD`` may still set its byte order)."""

    __slots__ = ("built", "dtype")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.built = False


class _Array:
    """An array announced by ``_reconstruct``; it exists once ``BUILD`` gave it its bytes."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None


class _Unshareable:
    """What the memo keeps for a large payload: a second reference to it is refused."""

    __slots__ = ()


_UNSHAREABLE = _Unshareable()


def _show(value: Any) -> str:
    """A short, safe rendering of a value from the file (never the repr of a container)."""
    if isinstance(value, (str, bytes)):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)[:40]
    return f"a {type(value).__name__}"


def _numeric_dtype(code: Any) -> np.dtype:
    if isinstance(code, bytes):
        code = code.decode("latin1")
    if not isinstance(code, str) or len(code) > 12:
        raise _Refused(f"numpy.dtype of {_show(code)}; expected a type code")
    try:
        dtype = np.dtype(code)
    except (TypeError, ValueError):
        raise _Refused(f"numpy.dtype({code!r}) is not a valid type code") from None
    _check_numeric(dtype)
    return dtype


def _check_numeric(dtype: np.dtype) -> None:
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise _Refused(
            f"a numpy array of dtype {dtype} (kind {dtype.kind!r}); only bool, int, uint, float "
            "and complex arrays are allowed",
            unsafe=True,
        )


def _dims(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > 32:
        raise _Refused(f"an array shape {_show(shape)}; expected a tuple of at most 32 sizes")
    for n in shape:
        if type(n) is not int or n < 0:
            raise _Refused(
                f"an array shape with a size {_show(n)}; sizes must be non-negative ints"
            )
    return shape


def _payload(data: Any) -> bytes | bytearray:
    if isinstance(data, str):  # Python 2 byte strings arrive as latin-1 text
        try:
            return data.encode("latin1")
        except UnicodeEncodeError:
            raise _Refused("array data given as text with characters above U+00FF") from None
    if isinstance(data, (bytes, bytearray)):
        return data
    raise _Refused(f"array data of type {type(data).__name__}; expected bytes")


def _array_from(data: Any, dtype: Any, shape: Any, fortran: bool) -> np.ndarray:
    if not isinstance(dtype, _Dtype):
        raise _Refused(f"an array whose dtype is a {type(dtype).__name__}; expected numpy.dtype")
    dims = _dims(shape)
    raw = _payload(data)
    expected = math.prod(dims) * dtype.dtype.itemsize
    if len(raw) != expected:
        raise _Refused(
            f"an array of shape {dims} and dtype {dtype.dtype} needs {expected} bytes, the file "
            f"gives {len(raw)}"
        )
    shaped = np.frombuffer(raw, dtype=dtype.dtype).reshape(dims, order="F" if fortran else "C")
    if isinstance(raw, bytearray):  # read in place for this array alone: no copy needed
        return shaped
    return np.array(shaped, order="K", copy=True)


def _flat_key(key: Any, what: str) -> Any:
    if type(key) is bytearray:  # a large bytes payload, read in place
        key = bytes(key)
    if isinstance(key, _SCALARS) or (
        type(key) is tuple and len(key) <= 64 and all(isinstance(k, _SCALARS) for k in key)
    ):
        return key
    raise _Refused(
        f"a {what} of type {type(key).__name__}; only scalars and flat tuples of scalars are "
        "allowed"
    )


def _reduce(func: Any, args: Any) -> Any:
    if not isinstance(func, _Global):
        raise _Refused(f"REDUCE on a {type(func).__name__}; only recognised globals may be called")
    if type(args) is not tuple:
        raise _Refused(f"REDUCE with arguments of type {type(args).__name__}; expected a tuple")
    if func is _RECONSTRUCT:
        if len(args) != 3 or args[0] is not _NDARRAY:
            raise _Refused("numpy _reconstruct of anything but a plain numpy.ndarray", unsafe=True)
        return _Array()
    if func is _DTYPE:
        if not 1 <= len(args) <= 3 or not all(isinstance(a, (bool, int)) for a in args[1:]):
            raise _Refused("numpy.dtype with unexpected arguments")
        return _Dtype(_numeric_dtype(args[0]))
    if func is _SCALAR:
        if len(args) != 2 or not isinstance(args[0], _Dtype):
            raise _Refused("numpy scalar without a (dtype, bytes) pair")
        return _array_from(args[1], args[0], (), False)[()]
    if func is _FROMBUFFER:
        if len(args) != 4 or args[3] not in ("C", "F"):
            raise _Refused("numpy _frombuffer without (bytes, dtype, shape, 'C' or 'F')")
        return _array_from(args[0], args[1], args[2], args[3] == "F")
    if func is _ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
            raise _Refused("_codecs.encode without (text, codec name)")
        if args[1].lower().replace("_", "-") not in _CODECS:
            raise _Refused(
                f"_codecs.encode with codec {_show(args[1])}; only latin-1 (how protocol 2 "
                "stores bytes) is allowed",
                unsafe=True,
            )
        return _payload(args[0])
    if func is _ORDERED_DICT:
        if args:
            raise _Refused("collections.OrderedDict with arguments; neon pickles give none")
        return {}
    if func in (_SET, _FROZENSET):
        items = args[0] if args else []
        if len(args) > 1 or not isinstance(items, list):
            raise _Refused(f"{func.name} of something other than a list")
        flat = [_flat_key(i, "set item") for i in items]
        return set(flat) if func is _SET else frozenset(flat)
    raise _Refused(f"{func.name} called directly; it may only name an array's class", unsafe=True)


def _build(obj: Any, state: Any) -> None:
    if isinstance(obj, _Array):
        if obj.array is not None:
            raise _Refused("BUILD applied twice to one array")
        if type(state) is not tuple or len(state) != 5 or state[0] != 1:
            raise _Refused("an array state that is not (1, shape, dtype, fortran, bytes)")
        _, shape, dtype, fortran, data = state
        if fortran not in (0, 1):
            raise _Refused(f"an array's fortran flag {_show(fortran)}; expected a bool")
        obj.array = _array_from(data, dtype, shape, bool(fortran))
        return
    if isinstance(obj, _Dtype):
        if obj.built:
            raise _Refused("BUILD applied twice to one dtype")
        ok = (
            type(state) is tuple
            and len(state) in (8, 9)
            and state[0] in (3, 4)
            and state[1] in ("<", ">", "|", "=")
            and state[2] is None
            and state[3] is None
            and state[4] is None
            and all(type(v) is int for v in state[5:8])
        )
        if not ok:
            raise _Refused(
                f"a numpy dtype state {_show(state)} of a non-numeric dtype", unsafe=True
            )
        obj.built = True
        if state[1] in "<>":
            obj.dtype = obj.dtype.newbyteorder(state[1])
        return
    raise _Refused(
        f"BUILD on a {type(obj).__name__}; only numpy arrays and dtypes are built", unsafe=True
    )


class _Reader:
    """Bytes from a stream, read in chunks, with a total budget; short reads are errors."""

    def __init__(self, stream: BinaryIO, budget: int) -> None:
        self.stream = stream
        self.budget = budget
        self.chunk = b""
        self.pos = 0
        self.offset = 0  # of the next byte, for messages
        self.seekable = isinstance(stream, io.BufferedReader) and stream.seekable()

    def take(self, n: int) -> bytes | bytearray:
        """The next ``n`` bytes (a bytearray filled in place when ``n`` is large and the stream
        cannot seek back)."""
        end = self.pos + n
        if end <= len(self.chunk):
            out = self.chunk[self.pos : end]
            self.pos = end
            self.offset += n
            return out
        head = self.chunk[self.pos :]
        need = n - len(head)
        if need > self.budget or n > _MAX_PAYLOAD:
            raise _Refused(
                f"{n} bytes are needed at offset {self.offset} but at most "
                f"{len(head) + self.budget} remain (a truncated or corrupted file, or one above "
                "the size limit)"
            )
        if need >= _CHUNK and self.seekable:  # step back and read it whole: no copy
            self.stream.seek(-len(head), io.SEEK_CUR)
            self.budget += len(head)
            self.chunk, self.pos = b"", 0
            out = self._read(n, n)
        elif need >= _CHUNK:
            self.chunk, self.pos = b"", 0
            big = bytearray(n)
            big[: len(head)] = head
            self._read_into(memoryview(big)[len(head) :])
            self.offset += n
            return big
        else:
            self.chunk = self._read(min(_CHUNK, self.budget), need)
            self.pos = need
            out = head + self.chunk[:need]
        self.offset += n
        return out

    def _read_into(self, view: memoryview) -> None:
        got = 0
        readinto = getattr(self.stream, "readinto", None)
        while got < len(view):
            if readinto is not None:
                count = readinto(view[got:])
            else:  # a file-like object with read() only
                data = self.stream.read(len(view) - got)
                count = len(data)
                view[got : got + count] = data
            if not count:
                raise _Refused(f"the data ends at offset {self.offset + got}")
            got += count
        self.budget -= got

    def _read(self, want: int, need: int) -> bytes:
        """Up to ``want`` bytes, at least ``need`` (short reads of raw streams are retried)."""
        data = self.stream.read(want)
        while len(data) < need:
            more = self.stream.read(want - len(data))
            if not more:
                raise _Refused(f"the data ends at offset {self.offset + len(data)}")
            data += more
        self.budget -= len(data)
        return data


_U2 = struct.Struct("<H").unpack
_I4 = struct.Struct("<i").unpack
_U4 = struct.Struct("<I").unpack
_U8 = struct.Struct("<Q").unpack
_F8 = struct.Struct(">d").unpack


class _Machine:
    def __init__(self, reader: _Reader, containers_per_byte: float = CONTAINERS_PER_BYTE) -> None:
        self.r = reader
        self.containers_per_byte = containers_per_byte
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.objects = 0
        self.ops: dict[int, Callable[[], object]] = {
            0x80: self.proto,
            0x95: lambda: self.r.take(8),  # FRAME: a hint only
            0x28: self.mark,  # (
            0x30: lambda: self.pop(),  # 0 POP
            0x31: self.pop_mark,  # 1
            0x32: lambda: self.push(self.top()),  # 2 DUP
            0x4E: lambda: self.push(None),  # N
            0x88: lambda: self.push(True),
            0x89: lambda: self.push(False),
            0x4A: lambda: self.push(_I4(self.r.take(4))[0]),  # J BININT
            0x4B: lambda: self.push(self.r.take(1)[0]),  # K BININT1
            0x4D: lambda: self.push(_U2(self.r.take(2))[0]),  # M BININT2
            0x8A: lambda: self.long(self.r.take(1)[0]),  # LONG1
            0x8B: lambda: self.long(self.length(4)),  # LONG4
            0x47: lambda: self.push(_F8(self.r.take(8))[0]),  # G BINFLOAT
            0x58: lambda: self.push(self.text(self.length(4))),  # X BINUNICODE
            0x8C: lambda: self.push(self.text(self.r.take(1)[0])),  # SHORT_BINUNICODE
            0x8D: lambda: self.push(self.text(self.length(8))),  # BINUNICODE8
            0x54: lambda: self.push(self.latin1(self.length(4))),  # T BINSTRING
            0x55: lambda: self.push(self.latin1(self.r.take(1)[0])),  # U SHORT_BINSTRING
            0x42: lambda: self.push(self.payload(self.length(4))),  # B BINBYTES
            0x43: lambda: self.push(self.payload(self.r.take(1)[0])),  # C SHORT_BINBYTES
            0x8E: lambda: self.push(self.payload(self.length(8))),  # BINBYTES8
            0x96: lambda: self.push(self.payload(self.length(8))),  # BYTEARRAY8
            0x5D: lambda: self.new([]),  # ] EMPTY_LIST
            0x61: self.append,  # a
            0x65: self.appends,  # e
            0x6C: lambda: self.new(list(self.pop_mark())),  # l LIST
            0x29: lambda: self.push(()),  # ) EMPTY_TUPLE
            0x74: lambda: self.new(tuple(self.pop_mark())),  # t TUPLE
            0x85: lambda: self.tuple_n(1),
            0x86: lambda: self.tuple_n(2),
            0x87: lambda: self.tuple_n(3),
            0x7D: lambda: self.new({}),  # } EMPTY_DICT
            0x64: self.dict_op,  # d DICT
            0x73: self.setitem,  # s
            0x75: self.setitems,  # u
            0x8F: lambda: self.new(set()),  # EMPTY_SET
            0x90: self.additems,
            0x91: lambda: self.new(
                frozenset(_flat_key(i, "set item") for i in self.pop_mark())
            ),  # FROZENSET
            0x63: self.global_op,  # c GLOBAL
            0x93: self.stack_global,  # STACK_GLOBAL
            0x52: self.reduce,  # R
            0x62: self.build,  # b
            0x71: lambda: self.put(self.r.take(1)[0]),  # q BINPUT
            0x72: lambda: self.put(_U4(self.r.take(4))[0]),  # r LONG_BINPUT
            0x94: lambda: self.put(len(self.memo)),  # MEMOIZE
            0x68: lambda: self.get(self.r.take(1)[0]),  # h BINGET
            0x6A: lambda: self.get(_U4(self.r.take(4))[0]),  # j LONG_BINGET
        }

    # -- stack ------------------------------------------------------------------------------
    def push(self, value: Any) -> None:
        self.stack.append(value)

    def count(self) -> None:
        """Count a new container or string against the density limit (by default
        :data:`CONTAINERS_PER_BYTE`)."""
        self.objects += 1
        if self.objects > MIN_CONTAINERS + self.r.offset * self.containers_per_byte:
            raise _Refused(
                f"{self.objects} containers and strings in {self.r.offset} bytes; at most one "
                f"per {round(1 / self.containers_per_byte)} bytes (beyond {MIN_CONTAINERS}) is "
                "accepted"
            )

    def new(self, container: Any) -> None:
        """Push a new container (counted)."""
        self.count()
        self.stack.append(container)

    def payload(self, n: int) -> bytes | bytearray:
        """The next ``n`` bytes as a string payload (counted when longer than one byte, as
        shorter strings are shared by Python)."""
        if n > 1:
            self.count()
        return self.r.take(n)

    def top(self) -> Any:
        if not self.stack:
            raise _Refused("an opcode needs a value but the stack is empty")
        return self.stack[-1]

    def pop(self) -> Any:
        if not self.stack:
            raise _Refused("an opcode needs a value but the stack is empty")
        return self.stack.pop()

    def mark(self) -> None:
        if len(self.marks) > MAX_DEPTH * 4:
            raise _Refused("too many nested MARKs")
        self.marks.append(self.stack)
        self.stack = []

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise _Refused("an opcode needs a MARK but there is none")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    # -- scalars ----------------------------------------------------------------------------
    def proto(self) -> None:
        if not 2 <= self.r.take(1)[0] <= 5:
            raise _Refused("an unsupported pickle protocol")

    def length(self, size: int) -> int:
        return _U4(self.r.take(4))[0] if size == 4 else _U8(self.r.take(8))[0]

    def long(self, n: int) -> None:
        if n > MAX_LONG_BYTES:
            raise _Refused(f"an integer of {n} bytes; at most {MAX_LONG_BYTES} are allowed")
        self.push(int.from_bytes(self.r.take(n), "little", signed=True))

    def text(self, n: int) -> str:
        data = self.payload(n)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused("a string that is not valid UTF-8") from None

    def latin1(self, n: int) -> str:
        return self.payload(n).decode("latin1")

    # -- containers -------------------------------------------------------------------------
    def tuple_n(self, n: int) -> None:
        if len(self.stack) < n:
            raise _Refused("a TUPLE opcode with too few values on the stack")
        items = tuple(self.stack[-n:])
        del self.stack[-n:]
        self.new(items)

    def _list(self) -> list[Any]:
        target = self.top()
        if type(target) is not list:
            raise _Refused(f"APPEND to a {type(target).__name__}")
        return target

    def append(self) -> None:
        value = self.pop()
        self._list().append(value)

    def appends(self) -> None:
        items = self.pop_mark()
        self._list().extend(items)

    def _dict(self) -> dict[Any, Any]:
        target = self.top()
        if type(target) is not dict:
            raise _Refused(f"SETITEM on a {type(target).__name__}")
        return target

    def setitem(self) -> None:
        value = self.pop()
        key = self.pop()
        self._dict()[_flat_key(key, "dict key")] = value

    def setitems(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise _Refused("SETITEMS with an odd number of values")
        target = self._dict()
        for i in range(0, len(items), 2):
            target[_flat_key(items[i], "dict key")] = items[i + 1]

    def dict_op(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise _Refused("DICT with an odd number of values")
        self.new({_flat_key(items[i], "dict key"): items[i + 1] for i in range(0, len(items), 2)})

    def additems(self) -> None:
        items = self.pop_mark()
        target = self.top()
        if type(target) is not set:
            raise _Refused(f"ADDITEMS to a {type(target).__name__}")
        target.update(_flat_key(i, "set item") for i in items)

    # -- globals and objects ----------------------------------------------------------------
    def _global(self, module: str, name: str) -> None:
        if (module, name) in _LAYER_CLASSES:  # SkipThought's rec_layer: only its name is kept
            self.push(f"{module}.{name}")
            return
        known = _GLOBALS.get((module, name))
        if known is None:
            raise _Refused(
                f"the pickle references the global {module}.{name:.80}, which is not allowed "
                "in a neon .prm file (only numpy arrays and plain containers are); nothing "
                "was run",
                unsafe=True,
            )
        self.push(known)

    def _line(self) -> str:
        out = bytearray()
        while len(out) < 256:
            byte = self.r.take(1)
            if byte == b"\n":
                return out.decode("latin1")
            out += byte
        raise _Refused("a GLOBAL name longer than 256 bytes")

    def global_op(self) -> None:
        module = self._line()
        self._global(module, self._line())

    def stack_global(self) -> None:
        name = self.pop()
        module = self.pop()
        if not isinstance(module, str) or not isinstance(name, str):
            raise _Refused("STACK_GLOBAL with names that are not strings")
        self._global(module, name)

    def reduce(self) -> None:
        args = self.pop()
        func = self.pop()
        self.push(_reduce(func, args))

    def build(self) -> None:
        state = self.pop()
        _build(self.top(), state)

    # -- memo -------------------------------------------------------------------------------
    def put(self, index: int) -> None:
        value = self.top()
        if len(self.memo) > 1 << 24:
            raise _Refused("more than 16 million memo entries")
        if _large(value):
            value = _UNSHAREABLE
        self.memo[index] = value

    def get(self, index: int) -> None:
        try:
            value = self.memo[index]
        except KeyError:
            raise _Refused(f"memo entry {index} is used before it is stored") from None
        if value is _UNSHAREABLE:
            raise _Refused("a large payload is referenced twice")
        self.push(value)

    # -- run --------------------------------------------------------------------------------
    def run(self) -> Any:
        ops = self.ops
        take = self.r.take
        while True:
            code = take(1)[0]
            if code == 0x2E:  # . STOP
                break
            op = ops.get(code)
            if op is None:
                raise _Refused(
                    f"opcode {bytes([code])!r} at offset {self.r.offset - 1}, which neon's "
                    "pickles never use (objects, extensions, persistent ids or text opcodes)",
                    unsafe=code in b"io\x81\x92\x82\x83\x84PQ",
                )
            op()
        if self.marks or len(self.stack) != 1:
            raise _Refused("the pickle ends with an unbalanced stack")
        return self.stack[0]


def _large(value: Any) -> bool:
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) > _LARGE
    if type(value) is tuple:
        return any(isinstance(v, (str, bytes, bytearray)) and len(v) > _LARGE for v in value)
    return False


def _finish(root: Any, size: int) -> Any:
    """The plain tree: arrays in place of their placeholders; cycles, depth and leftover
    globals refused. neon's descriptions share containers (one ``padding`` dict passed to
    several layers is pickled once and referenced again), so a container reached more than
    once becomes one independent copy per reference, as long as the repeats add no more
    container visits than the tree has distinct containers plus :data:`_SHARED_VISITS` (a
    structure that doubles at each level is refused). An array may appear more than once, but
    the array bytes of the whole tree, repeats included, must stay within twice the ``size`` of
    the input (plus 1 MiB).
    """
    seen: set[int] = set()
    active: set[int] = set()
    repeats = [0]
    budget = [2 * size + (1 << 20)]

    def walk(value: Any, depth: int) -> Any:
        kind = type(value)
        if kind in _SCALARS or isinstance(value, np.generic):
            return value
        if kind is bytearray:  # a large bytes payload, read in place
            return bytes(value)
        if depth > MAX_DEPTH:
            raise _Refused(f"containers nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, (_Global, _Dtype, _Unshareable)):
            raise _Refused(f"a bare {getattr(value, 'name', 'numpy dtype')} in the data")
        if (
            kind is tuple
            and len(value) <= _SHARED_TUPLE
            and all(type(v) in _SCALARS for v in value)
        ):
            return value  # immutable: one object may stand for every reference
        if kind is _Array:
            if value.array is None:
                raise _Refused("an array that was announced but never given its data")
            budget[0] -= value.array.nbytes
            if budget[0] < 0:
                raise _Refused(
                    "arrays referenced repeatedly add up to more than twice the input's size"
                )
            return value.array
        key = id(value)
        if key in active:
            raise _Refused("a container that contains itself (cyclic references)")
        if key in seen:
            repeats[0] += 1
            if repeats[0] > len(seen) + _SHARED_VISITS:
                raise _Refused("shared containers that expand to many times the containers stored")
        seen.add(key)
        active.add(key)
        try:
            return _copy(value, kind, depth)
        finally:
            active.discard(key)

    def _copy(value: Any, kind: type, depth: int) -> Any:
        if kind is list:
            if all(type(v) in _SCALARS for v in value):
                return list(value)
            return [walk(v, depth + 1) for v in value]
        if kind is tuple:
            return tuple(walk(v, depth + 1) for v in value)
        if kind is dict:
            return {k: walk(v, depth + 1) for k, v in value.items()}
        if kind in (set, frozenset):
            return kind(value)  # items were checked to be scalars or flat tuples when added
        raise _Refused(f"a value of type {kind.__name__}")

    return walk(root, 0)


def load_pickle(
    stream: BinaryIO,
    source: str,
    max_bytes: int | None = None,
    containers_per_byte: float = CONTAINERS_PER_BYTE,
) -> Any:
    """The plain tree stored in the pickle ``stream``; ``source`` names the file in errors.

    ``max_bytes`` caps how many bytes are read from ``stream`` (a gzip stream's expanded size).
    ``containers_per_byte`` is the density limit of containers and strings: data files made of
    many short strings (tokenised sentences) need more than a ``.prm``'s default.

    Raises:
        UnsafePickleError: anything neon never writes (a global outside the list, an object or
            structured dtype, BUILD on anything but an array).
        PrmFormatError: a truncated or corrupted pickle, cyclic containers, or sharing that
            expands without bound.
    """
    reader = _Reader(stream, (1 << 62) if max_bytes is None else max_bytes)
    try:
        return _finish(_Machine(reader, containers_per_byte).run(), reader.offset)
    except _Refused as err:
        cls = UnsafePickleError if err.unsafe else PrmFormatError
        kind = "refused" if err.unsafe else "not a readable neon .prm pickle"
        raise cls(f"{source}: {kind}: {err}.") from None
    except MemoryError:
        raise PrmFormatError(
            f"{source}: ran out of memory reading the pickle; the file declares more data "
            "than this machine can hold."
        ) from None
