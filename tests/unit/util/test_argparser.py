"""NeonArgparser: neon 2.6's flags, defaults, config files, post-processing and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends.backend import current_backend
from neon_torch.errors import UnsupportedNeonFeature
from neon_torch.util.argparser import NeonArgparser, extract_valid_args

from ...helpers.legacy import isolated_loggers  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_loggers")

NO_CFG: dict = {"default_config_files": []}


def test_defaults_match_neon() -> None:
    args = NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=[])
    assert args.epochs == 10 and args.batch_size == 128 and args.rng_seed is None
    assert args.backend == ("gpu" if torch.cuda.is_available() else "cpu")
    assert args.datatype is np.float32 and args.verbose == 1 and args.log_thresh == 30
    assert args.serialize == 0 and args.history == 1 and args.eval_freq is None
    assert args.save_path is None and args.output_file is None and args.model_file is None
    assert args.data_dir.endswith("nervana/data") and args.progress_bar is True
    assert args.compat_mode is None and args.rounding is False and args.device_id == 0
    assert args.callback_args == {
        "output_file": None,
        "eval_freq": None,
        "progress_bar": True,
        "save_path": None,
        "serialize": 0,
        "history": 1,
        "model_file": None,
        "log_token": "",
    }


def test_flags_and_backend(tmp_path: Path) -> None:
    argv = ["-e", "3", "-z", "16", "-r", "7", "-d", "f64", "-vv", "--no_progress_bar"]
    argv += ["-s", str(tmp_path / "ck" / "m.prm"), "-H", "3", "-eval", "2", "--caffe"]
    args = NeonArgparser("doc", **NO_CFG).parse_args(args=argv)
    assert (args.epochs, args.batch_size, args.rng_seed) == (3, 16, 7)
    assert args.datatype is np.float64 and args.log_thresh == 10 and not args.progress_bar
    assert args.serialize == 1  # a save_path without --serialize: every epoch (neon)
    assert (tmp_path / "ck").is_dir() and args.compat_mode == "caffe"
    assert args.callback_args["eval_freq"] == 2 and args.callback_args["history"] == 3
    be = current_backend()
    assert be.bsz == 16 and be.rng_seed == 7 and be.datatype == np.float64
    assert be.compat_mode == "caffe"


def test_serialize_alone_and_optional_values() -> None:
    args = NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["--serialize"])
    assert args.serialize == 1 and args.save_path == "neon_model.prm"
    args = NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["--serialize", "4"])
    assert args.serialize == 4


def test_default_overrides_only_known_keys() -> None:
    parser = NeonArgparser("doc", default_overrides={"epochs": 2, "backend": "gpu"}, **NO_CFG)
    args = parser.parse_args(gen_be=False, args=[])
    assert args.epochs == 2 and args.backend == ("gpu" if torch.cuda.is_available() else "cpu")
    assert parser.parse_args(gen_be=False, args=["-e", "5"]).epochs == 5


def test_config_file_is_a_lower_priority_default(tmp_path: Path) -> None:
    cfg = tmp_path / "neon.cfg"
    cfg.write_text("# comment\n[run]\nepochs = 4\nbatch_size: 8\nno_progress_bar = true\n")
    parser = NeonArgparser("doc", **NO_CFG)
    args = parser.parse_args(gen_be=False, args=["-c", str(cfg)])
    assert (args.epochs, args.batch_size, args.progress_bar) == (4, 8, False)
    args = NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["-c", str(cfg), "-e", "9"])
    assert args.epochs == 9
    default_cfg = NeonArgparser("doc", default_config_files=[str(cfg)])
    assert default_cfg.parse_args(gen_be=False, args=[]).batch_size == 8


def test_script_arguments_and_extract_valid_args() -> None:
    parser = NeonArgparser("doc", **NO_CFG)
    parser.add_argument("--rlayer_type", default="lstm", choices=["lstm", "gru"])
    args = parser.parse_args(gen_be=False, args=["--rlayer_type", "gru", "-r", "1"])
    assert args.rlayer_type == "gru"

    def gen(backend: str, rng_seed: int | None = None, unrelated: int = 0) -> None: ...

    assert extract_valid_args(args, gen) == {"backend": args.backend, "rng_seed": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch = 3\n", "unknown key 'epoch'"),
        ("batch_size = many\n", "not a valid value"),
        ("backend = tpu\n", "must be one of"),
        ("no_progress_bar = maybe\n", "expects true or false"),
    ],
)
def test_bad_config_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(text)
    with pytest.raises(SystemExit) as info:
        NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["-c", str(cfg)])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_flag_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--epochz", "3"], ["-b", "tpu"], ["-e", "x"]):
        with pytest.raises(SystemExit) as info:
            NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=argv)
        assert info.value.code == 2
    assert "unrecognized arguments: --epochz" in capsys.readouterr().err


def test_post_processing_errors(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedNeonFeature, match="stochastic rounding"):
        NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["-b", "cpu", "-u"])
    with pytest.raises(FileNotFoundError, match="--model_file"):
        NeonArgparser("doc", **NO_CFG).parse_args(
            gen_be=False, args=["--model_file", str(tmp_path / "absent.prm")]
        )


def test_log_file_and_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "run.log"
    args = NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["-l", str(log), "-v"])
    import logging

    logging.getLogger("neon").info("hello file")
    assert args.logfile == str(log) and "hello file" in log.read_text()
    with pytest.raises(SystemExit):
        NeonArgparser("doc", **NO_CFG).parse_args(gen_be=False, args=["--version"])
    assert "2.6.0" in capsys.readouterr().out


def test_argparse_call_form_creates_the_backend() -> None:
    args = NeonArgparser("doc", **NO_CFG).parse_args(["-z", "4", "-b", "cpu"])
    assert args.batch_size == 4 and current_backend().bsz == 4
