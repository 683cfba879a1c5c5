"""``neon-torch run`` (scripts through the shim, YAML files), ``plot`` and ``--help``."""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from neon_torch import compat
from neon_torch.cli import SUBCOMMANDS, main
from neon_torch.models import Model

from ..helpers.legacy import isolated_loggers, write_cifar, write_mnist  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_loggers")

# neon 2.6's examples/mnist_mlp.py, unchanged apart from a smaller hidden layer
NEON_SCRIPT = textwrap.dedent(
    '''
    """Train a perceptron on MNIST (neon 2.6 example style)."""
    from neon import logger as neon_logger
    from neon.callbacks.callbacks import Callbacks
    from neon.data import MNIST
    from neon.initializers import Gaussian
    from neon.layers import GeneralizedCost, Affine
    from neon.models import Model
    from neon.optimizers import GradientDescentMomentum
    from neon.transforms import Rectlin, Logistic, CrossEntropyBinary, Misclassification
    from neon.util.argparser import NeonArgparser

    parser = NeonArgparser(__doc__)
    args = parser.parse_args()
    dataset = MNIST(path=args.data_dir)
    train_set = dataset.train_iter
    valid_set = dataset.valid_iter
    init_norm = Gaussian(loc=0.0, scale=0.01)
    layers = [Affine(nout=20, init=init_norm, activation=Rectlin()),
              Affine(nout=10, init=init_norm, activation=Logistic(shortcut=True))]
    cost = GeneralizedCost(costfunc=CrossEntropyBinary())
    optimizer = GradientDescentMomentum(0.1, momentum_coef=0.9, stochastic_round=args.rounding)
    mlp = Model(layers=layers)
    callbacks = Callbacks(mlp, eval_set=valid_set, **args.callback_args)
    mlp.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost,
            callbacks=callbacks)
    error_rate = mlp.eval(valid_set, metric=Misclassification())
    neon_logger.display('Misclassification error = %.1f%%' % (error_rate[0] * 100))
    '''
)


def _script(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    write_mnist(data)
    script = tmp_path / "mnist_mlp.py"
    script.write_text(NEON_SCRIPT)
    return script, data


def _check_outputs(tmp_path: Path, epochs: int) -> None:
    with h5py.File(tmp_path / "cb.h5") as f:
        assert f["cost/train"].shape == (epochs * 4,) and f["cost/loss"].shape == (epochs,)
        assert f["time_markers"].attrs["epochs_complete"] == epochs
    assert Model(str(tmp_path / "m.prm")).epoch_index == epochs


def test_run_neon_script_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script, data = _script(tmp_path)
    argv = ["run", str(script), "-e", "2", "-z", "16", "-b", "cpu", "-r", "0", "-w", str(data)]
    argv += ["-s", str(tmp_path / "m.prm"), "-o", str(tmp_path / "cb.h5"), "--eval_freq", "1"]
    assert main(argv) == 0
    _check_outputs(tmp_path, 2)
    out = capsys.readouterr()
    assert "Epoch 1   [Train |" in out.out and "Misclassification error = " in out.err
    assert not compat.is_installed() and "neon" not in sys.modules


def test_run_neon_script_through_the_shim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, data = _script(tmp_path)
    argv = [str(script), "-e", "1", "-z", "16", "-b", "cpu", "-w", str(data), "--no_progress_bar"]
    argv += ["-s", str(tmp_path / "m.prm"), "-o", str(tmp_path / "cb.h5"), "-eval", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    compat.install()
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        compat.uninstall()
    _check_outputs(tmp_path, 1)


def test_run_yaml_experiment(tmp_path: Path) -> None:
    yaml_file = Path(__file__).parents[2] / "examples" / "mnist_mlp.yaml"
    out = tmp_path / "cb.h5"
    argv = ["run", str(yaml_file), "-e", "1", "-o", str(out), "--no_progress_bar", "-b", "cpu"]
    assert main([*argv, "-s", str(tmp_path / "m.prm")]) == 0
    with h5py.File(out) as f:
        assert f["config"].attrs["total_epochs"] == 1
        assert f["cost/train"].shape == (32,)  # 1024 demo digits, batchsize 32 from the file
    assert Model(str(tmp_path / "m.prm")).epoch_index == 1


def test_script_exit_status_and_missing_file(tmp_path: Path, capsys) -> None:
    script = tmp_path / "exit3.py"
    script.write_text("import sys\nimport neon\nsys.exit(3)\n")
    assert main(["run", str(script)]) == 3
    assert main(["run", str(tmp_path / "absent.py")]) == 1
    assert "absent.py: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("layers:\n- type: Linaer\n  config: {nout: 3}\n", "unknown type 'Linaer'. Did you mean"),
        ("layers:\n- type: Linear\n  config: {nouts: 3}\n", "no argument(s) ['nouts']"),
        ("layers: 3\n", "a 'layers' list"),
        ("layers: []\ndataset: {name: imagenet}\ncost: CrossEntropyBinary\n", "dataset name"),
    ],
)
def test_bad_yaml_is_a_clean_user_error(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["run", str(path), "-e", "1", "-b", "cpu"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_user_errors_exit_without_traceback(tmp_path: Path) -> None:
    script, _data = _script(tmp_path)
    cmd = [sys.executable, "-m", "neon_torch.cli", "run", str(script), "--epochz", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 2 and "unrecognized arguments: --epochz" in done.stderr
    assert "Traceback" not in done.stderr
    unsupported = tmp_path / "roi.py"
    unsupported.write_text("from neon.layers import RoiPooling\n")
    done = subprocess.run([*cmd[:4], str(unsupported)], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        "neon.layers.RoiPooling is not provided" in done.stderr and "docs/compat.md" in done.stderr
    )


def test_help_of_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    top = capsys.readouterr().out
    for module in SUBCOMMANDS:
        assert module.NAME in top
        with pytest.raises(SystemExit) as info:
            main([module.NAME, "--help"])
        assert info.value.code == 0
        assert module.HELP in capsys.readouterr().out


def test_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    yaml_file = Path(__file__).parents[2] / "examples" / "mnist_mlp.yaml"
    out = tmp_path / "cb.h5"
    argv = ["run", str(yaml_file), "-e", "2", "-o", str(out), "-eval", "1", "--no_progress_bar"]
    assert main([*argv, "-b", "cpu"]) == 0
    assert main(["plot", str(out)]) == 0
    png = tmp_path / "cb.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("text")
    assert main(["plot", str(not_h5)]) == 1
    assert "not an HDF5 file" in capsys.readouterr().err


# neon 2.6's examples/cifar10_conv.py and char_rnn-style text scripts, shrunk
CIFAR_SCRIPT = textwrap.dedent(
    """
    from neon.callbacks.callbacks import Callbacks
    from neon.data import CIFAR10
    from neon.initializers import Uniform
    from neon.layers import GeneralizedCost, Affine, Conv, Pooling
    from neon.models import Model
    from neon.optimizers import GradientDescentMomentum
    from neon.transforms import Misclassification, CrossEntropyBinary, Logistic, Rectlin
    from neon.util.argparser import NeonArgparser

    parser = NeonArgparser(__doc__)
    args = parser.parse_args()
    dataset = CIFAR10(path=args.data_dir, normalize=True, contrast_normalize=False, whiten=False)
    train = dataset.train_iter
    test = dataset.valid_iter
    init_uni = Uniform(low=-0.1, high=0.1)
    opt_gdm = GradientDescentMomentum(learning_rate=0.01, momentum_coef=0.9)
    layers = [Conv((5, 5, 4), init=init_uni, activation=Rectlin(), batch_norm=True),
              Pooling((2, 2)),
              Affine(nout=10, init=init_uni, activation=Logistic(shortcut=True))]
    cost = GeneralizedCost(costfunc=CrossEntropyBinary())
    mlp = Model(layers=layers)
    callbacks = Callbacks(mlp, eval_set=test, **args.callback_args)
    mlp.fit(train, optimizer=opt_gdm, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
    error = mlp.eval(test, metric=Misclassification())[0]
    print('Misclassification error = %.1f%%' % (error * 100))
    """
)
PTB_SCRIPT = textwrap.dedent(
    """
    from neon.callbacks.callbacks import Callbacks
    from neon.data import PTB
    from neon.initializers import Uniform
    from neon.layers import GeneralizedCost, LSTM, Affine, LookupTable
    from neon.models import Model
    from neon.optimizers import RMSProp
    from neon.transforms import Logistic, Tanh, Softmax, CrossEntropyMulti
    from neon.util.argparser import NeonArgparser

    parser = NeonArgparser(__doc__)
    args = parser.parse_args()
    time_steps = 5
    dataset = PTB(time_steps, path=args.data_dir, onehot_input=False, tokenizer="newline_tokenizer")
    train_set = dataset.train_iter
    valid_set = dataset.valid_iter
    init = Uniform(low=-0.08, high=0.08)
    layers = [LookupTable(vocab_size=train_set.nout, embedding_dim=8, init=init),
              LSTM(8, init, activation=Tanh(), gate_activation=Logistic()),
              Affine(train_set.nout, init, bias=init, activation=Softmax())]
    cost = GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True))
    model = Model(layers=layers)
    optimizer = RMSProp(gradient_clip_value=5, stochastic_round=args.rounding)
    callbacks = Callbacks(model, eval_set=valid_set, **args.callback_args)
    model.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost,
              callbacks=callbacks)
    """
)


def _write_ptb(data: Path) -> None:
    words = "the cat sat on a mat and the dog ran to the cat".split()
    for split, n in (("train", 40), ("valid", 12), ("test", 12)):
        lines = [
            " " + " ".join(words[(i + j) % len(words)] for j in range(6)) + " " for i in range(n)
        ]
        (data / f"ptb.{split}.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("script_text", "writer"),
    [(CIFAR_SCRIPT, write_cifar), (PTB_SCRIPT, _write_ptb)],
    ids=["cifar10_conv", "ptb_lstm"],
)
def test_run_dataset_scripts(tmp_path: Path, script_text: str, writer) -> None:
    data = tmp_path / "data"
    data.mkdir()
    writer(data)
    script = tmp_path / "script.py"
    script.write_text(script_text)
    argv = ["run", str(script), "-e", "2", "-z", "8", "-b", "cpu", "-w", str(data), "-eval", "1"]
    argv += ["-s", str(tmp_path / "m.prm"), "-o", str(tmp_path / "cb.h5"), "--no_progress_bar"]
    assert main(argv) == 0
    with h5py.File(tmp_path / "cb.h5") as f:
        assert f["cost/loss"].shape == (2,) and f["cost/loss"][1] > 0
        assert f["time_markers"].attrs["epochs_complete"] == 2
    assert Model(str(tmp_path / "m.prm")).epoch_index == 2
