"""neon's ``NeonArgparser``: the command line every neon script shares.

Flags, defaults and post-processing follow neon 2.6 (NEON_SEMANTICS §9): ``-e 10``,
``-z 128``, ``-b`` (``gpu`` when CUDA is available, else ``cpu``), ``-r``, ``-d f32``,
``-s``/``--serialize``/``-H``, ``-o``, ``-eval``, ``--model_file``, ``-v``, ``-l``,
``--no_progress_bar``, ``-w ~/nervana/data``, ``-c`` config files and the rest.
``parse_args(gen_be=True)`` sets up the ``neon`` and ``neon_torch`` loggers, fills
``args.progress_bar``, ``args.compat_mode``, ``args.callback_args`` and creates the backend.

Config files (``-c FILE`` and ``default_config_files``, default ``~/nervana/neon.cfg``) hold one
``key = value`` (or ``key: value``) per line, ``#``/``;`` comments and ``[section]`` lines
ignored; a key is a long option without its dashes (``epochs = 3``, ``no_progress_bar =
true``). Values act as defaults below the command line. An unknown key is an error, as in
configargparse. neon reads no environment variables here; neither does this parser.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from collections.abc import Callable, Sequence
from logging.handlers import RotatingFileHandler
from typing import Any

import numpy as np
import torch

from .._version import NEON_VERSION, __version__

__all__ = ["NeonArgparser", "extract_valid_args"]

logger = logging.getLogger("neon_torch")
_WORK_DIR = os.path.join(os.path.expanduser("~"), "nervana")
_OVERRIDABLE = (
    "verbose epochs save_path serialize output_file eval_freq history device_id max_devices "
    "rng_seed rounding datatype batch_size"
).split()
_PATHS = ("data_dir", "save_path", "model_file", "output_file", "logfile")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def extract_valid_args(args: Any, func: Callable[..., Any], startidx: int = 0) -> dict[str, Any]:
    """The entries of ``args`` (a namespace) named like parameters of ``func``.

    neon semantics: parameters are taken in order and the first ``startidx`` skipped (``1``
    skips ``self`` of an unbound ``__init__``).
    """
    names = list(inspect.signature(func).parameters)[startidx:]
    return {k: v for k, v in vars(args).items() if k in names}


class NeonArgparser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with neon's default flags, config files and set-up.

    Extra keyword arguments, as in neon: ``default_overrides`` (new defaults for ``verbose,
    epochs, save_path, serialize, output_file, eval_freq, history, device_id, max_devices,
    rng_seed, rounding, datatype, batch_size``; other keys are ignored, as neon does),
    ``default_config_files`` and ``add_config_file_help`` (accepted, no effect).
    The first positional argument is the description (scripts pass ``__doc__``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        overrides = kwargs.pop("default_overrides", None) or {}
        self.default_config_files = list(
            kwargs.pop("default_config_files", [os.path.join(_WORK_DIR, "neon.cfg")])
        )
        kwargs.pop("add_config_file_help", None)
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        if args:  # neon scripts pass their docstring first: it is the description
            kwargs.setdefault("description", args[0])
            args = args[1:]
        self._parsed = False
        super().__init__(*args, **kwargs)
        self.work_dir = _WORK_DIR
        self._setup_default_args()
        self.set_defaults(**{k: v for k, v in overrides.items() if k in _OVERRIDABLE})

    def _setup_default_args(self) -> None:
        add = super().add_argument
        add(
            "--version", action="version", version=f"neon {NEON_VERSION} (neon_torch {__version__})"
        )
        add("-c", "--config", help="read defaults for these arguments from this config file")
        add("-v", "--verbose", action="count", default=1, help="verbosity; repeat to raise")
        add("--no_progress_bar", action="store_true", help="no progress bar and running cost")
        add("--profile", action="store_true", help="accepted; use torch.profiler instead")
        add("--profiling_method", type=str, default="time", help="accepted, no effect")
        add("--profile_inference", action="store_true", help="accepted, no effect")
        add("--profile_iterations", type=int, default=50, help="accepted, no effect")
        add("--profile_iter_skip", type=int, default=5, help="accepted, no effect")
        rt = self.add_argument_group("runtime")
        rt.add_argument(
            "-w",
            "--data_dir",
            default=os.path.join(_WORK_DIR, "data"),
            help="directory holding (or receiving) the datasets",
        )
        rt.add_argument("-e", "--epochs", type=int, default=10, help="number of epochs")
        rt.add_argument("-s", "--save_path", type=str, help="file to save checkpoints to")
        rt.add_argument(
            "--serialize",
            nargs="?",
            type=int,
            default=0,
            const=1,
            metavar="N",
            help="checkpoint every N epochs",
        )
        rt.add_argument("--model_file", help="load the weights of this .prm before training")
        rt.add_argument(
            "-l",
            "--log",
            dest="logfile",
            nargs="?",
            const=os.path.join(_WORK_DIR, "neon_log.txt"),
            help="log file",
        )
        rt.add_argument(
            "-o",
            "--output_file",
            default=None,
            help="HDF5 file for the callback data (neon-torch plot reads it)",
        )
        rt.add_argument(
            "-eval",
            "--eval_freq",
            type=int,
            default=None,
            help="evaluate the eval set every this many epochs",
        )
        rt.add_argument("-H", "--history", type=int, default=1, help="checkpoints to keep")
        rt.add_argument("--log_token", type=str, default="", help="accepted, no effect")
        rt.add_argument("--manifest", action="append", help="name:path of a manifest file")
        rt.add_argument("--manifest_root", type=str, default=None, help="manifest root dir")
        be = self.add_argument_group("backend")
        be.add_argument(
            "-b",
            "--backend",
            choices=["cpu", "mkl", "gpu"],
            default="gpu" if torch.cuda.is_available() else "cpu",
            help="cpu/mkl run on the CPU, gpu on CUDA",
        )
        be.add_argument("-i", "--device_id", type=int, default=0, help="CUDA device id")
        be.add_argument(
            "-m",
            "--max_devices",
            type=int,
            default=torch.cuda.device_count(),
            help="accepted, no effect",
        )
        be.add_argument(
            "-r",
            "--rng_seed",
            type=int,
            default=None,
            metavar="SEED",
            help="random number generator seed",
        )
        be.add_argument(
            "-u",
            "--rounding",
            const=True,
            type=int,
            nargs="?",
            metavar="BITS",
            default=False,
            help="stochastic rounding (not on the CPU)",
        )
        be.add_argument(
            "-d",
            "--datatype",
            choices=["f16", "f32", "f64"],
            default="f32",
            help="floating point precision (f16: mixed precision)",
        )
        be.add_argument("-z", "--batch_size", type=_positive_int, default=128, help="batch size")
        be.add_argument("--caffe", action="store_true", help="caffe's conv/pool/dropout rules")
        be.add_argument("--deterministic", action="store_true", help="deprecated, no effect")

    def add_yaml_arg(self) -> None:
        """Add the positional ``yaml_file`` (an open file) for YAML experiment scripts."""
        super().add_argument(
            "yaml_file", type=argparse.FileType("r"), help="neon model specification file"
        )

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        """``argparse``'s ``add_argument``; warns (once) when called after ``parse_args``."""
        if self._parsed:
            logger.warning("Argument added after parse_args; parse_args may need to run again.")
            self._parsed = False
        return super().add_argument(*args, **kwargs)

    # -- config files ----------------------------------------------------------------------
    def _option_actions(self) -> dict[str, argparse.Action]:
        found: dict[str, argparse.Action] = {}
        for action in self._actions:
            for opt in action.option_strings:
                found[opt.lstrip("-")] = action
            if action.option_strings:
                found.setdefault(action.dest, action)
        return found

    def _config_value(self, path: str, key: str, raw: str, action: argparse.Action) -> Any:
        raw = raw.strip().strip('"').strip("'")
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if raw.lower() not in _TRUE | _FALSE:
                self.error(f"config file {path}: {key} expects true or false, got {raw!r}")
            value: Any = raw.lower() in _TRUE
            return value if isinstance(action, argparse._StoreTrueAction) else not value
        if isinstance(action, argparse._CountAction):
            return int(raw)
        if isinstance(action, argparse._AppendAction):
            items = raw.strip("[]").split(",")
            return [item.strip() for item in items if item.strip()]
        try:
            value = action.type(raw) if callable(action.type) else raw
        except (TypeError, ValueError, argparse.ArgumentTypeError):
            self.error(f"config file {path}: {key} = {raw!r} is not a valid value")
        if action.choices is not None and value not in action.choices:
            self.error(f"config file {path}: {key} must be one of {list(action.choices)}")
        return value

    def _read_config(self, path: str) -> dict[str, Any]:
        actions = self._option_actions()
        values: dict[str, Any] = {}
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as err:
            self.error(f"cannot read config file {path}: {err.strerror}")
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if not text or text[0] in "#;" or (text.startswith("[") and text.endswith("]")):
                continue
            key, sep, raw = text.partition("=") if "=" in text else text.partition(":")
            if not sep:
                key, _, raw = text.partition(" ")
            key = key.strip().lstrip("-")
            action = actions.get(key)
            if action is None or key in ("config", "version", "help", "h"):
                known = sorted(k for k in actions if len(k) > 1 and k not in ("config", "version"))
                self.error(
                    f"config file {path}, line {number}: unknown key {key!r}; expected one of "
                    f"{', '.join(known)}"
                )
            values[action.dest] = self._config_value(path, key, raw, action)
        return values

    def _config_defaults(self, argv: Sequence[str]) -> dict[str, Any]:
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("-c", "--config")
        known, _ = pre.parse_known_args(argv)
        files = [p for p in self.default_config_files if os.path.isfile(os.path.expanduser(p))]
        if known.config:
            files.append(known.config)
        values: dict[str, Any] = {}
        for path in files:
            values.update(self._read_config(path))
        return values

    # -- parsing ---------------------------------------------------------------------------
    def parse_args(  # type: ignore[override]  # neon's (gen_be, args) form
        self, gen_be: bool | Sequence[str] = True, args: Sequence[str] | None = None
    ) -> argparse.Namespace:
        """Parse ``sys.argv[1:]`` (or ``args``), configure logging and, with ``gen_be``,
        create the backend (``gen_backend(backend, rng_seed, device_id, batch_size,
        datatype, compat_mode)``). Returns the namespace with neon's derived fields:
        ``log_thresh``, ``datatype`` (a numpy type), ``progress_bar``, ``compat_mode``,
        ``manifest`` (a dict) and ``callback_args`` (the ``Callbacks`` keyword arguments).
        ``parse_args(['-e', '2'])`` (argparse's form) parses that list and creates the backend.

        Raises:
            SystemExit: unknown flags or bad values (argparse's usage error, exit code 2).
            OSError: an unwritable ``save_path`` directory or an unreadable ``model_file``.
            UnsupportedNeonFeature: ``-u`` on the CPU, or ``-d f16``.
        """
        if isinstance(gen_be, (list, tuple)):  # argparse's own call form: parse_args(argv)
            args, gen_be = gen_be, True
        argv = list(sys.argv[1:] if args is None else args)
        ns = argparse.Namespace(**self._config_defaults(argv))
        parsed = super().parse_args(argv, namespace=ns)
        self._postprocess(parsed)
        if gen_be:
            _make_backend(parsed, self.get_default("max_devices"))
        self._parsed = True
        self.args = parsed
        from ..callbacks.callbacks import Callbacks

        parsed.callback_args = extract_valid_args(parsed, Callbacks.__init__, startidx=1)
        return parsed

    def _postprocess(self, args: argparse.Namespace) -> None:
        args.log_thresh = max(10, 40 - 10 * int(args.verbose or 0))
        for name in _PATHS:
            if getattr(args, name):
                setattr(args, name, os.path.expanduser(getattr(args, name)))
        _setup_logging(args)
        args.datatype = np.dtype("float" + args.datatype[1:]).type
        args.progress_bar = not args.no_progress_bar
        if args.backend in ("cpu", "mkl") and args.rounding:
            from ..errors import UnsupportedNeonFeature

            raise UnsupportedNeonFeature(
                f"-u/--rounding {args.rounding} needs stochastic rounding, which the CPU "
                "backend does not support (neon raises too); drop -u."
            )
        if args.save_path:
            _check_save_path(args.save_path)
        if args.serialize > 0 and args.save_path is None:
            args.save_path = "neon_model.prm"
            logger.warning("No path given for model serialization, using %r", args.save_path)
        if args.save_path is not None and args.serialize == 0:
            args.serialize = 1
            logger.warning("No schedule given for model serialization, using every epoch")
        if args.model_file and not os.access(args.model_file, os.R_OK):
            raise FileNotFoundError(
                f"--model_file {args.model_file}: the file does not exist or is not readable."
            )
        args.compat_mode = "caffe" if args.caffe else None
        if args.manifest:
            args.manifest = dict(item.split(":", 1) for item in args.manifest if ":" in item)


def _positive_int(value: str) -> int:
    """argparse type of ``-z``: a minibatch holds at least one sample."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a batch size >= 1, got {value!r}")
    return number


def _check_save_path(save_path: str) -> None:
    directory = os.path.dirname(os.path.abspath(save_path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise OSError(f"--save_path {save_path}: cannot create {directory} ({err}).") from None
    if not os.access(directory, os.W_OK):
        raise OSError(f"--save_path {save_path}: directory {directory} is not writable.")
    if os.path.exists(save_path):
        logger.warning("save file %s exists, attempting to overwrite", save_path)


def _setup_logging(args: argparse.Namespace) -> None:
    """neon's handlers: stderr at ``log_thresh`` (errors only when ``-l`` is given with a
    progress bar) and a rotating file with ``-l``; on the ``neon`` and ``neon_torch`` loggers."""
    fmt = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler()
    console.setFormatter(fmt)
    console.setLevel(args.log_thresh)
    if args.logfile:
        filelog = RotatingFileHandler(args.logfile, mode="w", maxBytes=10_000_000, backupCount=5)
        filelog.setFormatter(fmt)
        filelog.setLevel(args.log_thresh)
        handlers.append(filelog)
        if not args.no_progress_bar:
            console.setLevel(logging.ERROR)
    handlers.append(console)
    for name in ("neon", "neon_torch"):
        log = logging.getLogger(name)
        for old in [h for h in log.handlers if getattr(h, "_neon_argparser", False)]:
            log.removeHandler(old)
            old.close()
        log.setLevel(args.log_thresh)
        log.propagate = False
        for handler in handlers:
            handler._neon_argparser = True  # type: ignore[attr-defined]  # a marker on the handler
            log.addHandler(handler)


def _make_backend(args: argparse.Namespace, default_max_devices: Any) -> None:
    from ..backends import gen_backend

    extra: dict[str, Any] = {}
    if args.max_devices != default_max_devices:
        extra["max_devices"] = args.max_devices
    if args.deterministic:
        extra["deterministic"] = True
    gen_backend(
        backend=args.backend,
        rng_seed=args.rng_seed,
        device_id=args.device_id,
        batch_size=args.batch_size,
        datatype=args.datatype,
        compat_mode=args.compat_mode,
        **extra,
    )
