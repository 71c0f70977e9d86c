import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

KERNEL = "python3"
TRAINED_FIXTURES = frozenset({"tiny_trained", "nested_trained"})  # each trains a model once per pytest run


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A ``python3`` kernel spec whose interpreter is ``sys.executable``, found first on JUPYTER_PATH.

    The kernel spec that Jupyter would find by itself may belong to another interpreter (a user-wide
    or system-wide ``python3``); this one always runs the interpreter of the tests.
    """
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({sys.prefix})", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    found = KernelSpecManager().get_kernel_spec(KERNEL)
    assert found.argv[0] == sys.executable, found.argv
    return KERNEL


def execute_notebook(path, kernel: str, root, min_figures: int, monkeypatch) -> list:
    """Runs the notebook at ``path`` in ``kernel`` (the package importable from ``root``) from a clean state (its
    committed outputs dropped), checks that no cell failed, that at least ``min_figures`` PNGs were shown and that
    nothing was skipped; returns the outputs of its code cells."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbclient.NotebookClient(nb, kernel_name=kernel, timeout=300, startup_timeout=120,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= min_figures
    assert not any("skipped" in o.get("text", "") for o in outputs)
    return outputs


@pytest.fixture
def semcom_sim_main(capsys, monkeypatch):
    """``semcom_sim_main(*ARGS)`` runs ``semcom-sim ARGS`` through :func:`semcom_sim.cli.main` in this process (what
    the console script calls, without a fresh interpreter's start-up) and returns it as the completed process the
    subprocess tests see."""
    import subprocess

    from semcom_sim.cli import main

    monkeypatch.delenv("SEMCOM_DEBUG", raising=False)  # it turns one-line errors into tracebacks

    def run(*args) -> subprocess.CompletedProcess:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return run


@contextlib.contextmanager
def killed_once_written(argv: list, path: Path, cwd: Path | None = None, timeout: float = 180):
    """Starts ``argv`` (a Python command line, ``SEMCOM_DEBUG`` unset), waits until ``path`` exists, yields the
    running process, then kills it with SIGKILL from outside and waits for it. Fails if the process ends first or
    ``path`` does not appear within ``timeout`` seconds."""
    import signal
    import subprocess
    import time

    env = {k: v for k, v in os.environ.items() if k != "SEMCOM_DEBUG"}
    proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, env={**env, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        while not Path(path).is_file():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, f"{path} did not appear"
            time.sleep(0.01)
        yield proc
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


# -- trained models, shared by the whole pytest run (session scope: once per xdist worker) ----------------

@dataclass(frozen=True)
class TrainedLink:
    """A trained model and what it was trained with: ``scenario`` is the scenario as ``scheme`` trains it (its
    patch applied), ``history`` one record per epoch, ``checkpoint`` the saved weights under the run directory
    ``out_dir`` (so ``load_or_train(scenario, scheme, dataset, out_dir)`` reuses them).

    Every test of the run shares ``model``: a test may evaluate it but must not train it or change its weights."""

    scenario: Any
    scheme: str
    dataset: Any
    model: Any
    history: list[dict]
    checkpoint: Any
    out_dir: Path


def _train_and_save(scenario, scheme: str, out_dir: Path) -> TrainedLink:
    from semcom_sim.checkpoints import Checkpoint
    from semcom_sim.data import load_dataset
    from semcom_sim.train import save_checkpoint, train_model

    dataset = load_dataset(scenario.data)
    model, history = train_model(scenario, scheme, dataset, show_progress=False, log=lambda _: None)
    checkpoint = Checkpoint.of(out_dir, scheme, scenario, dataset)
    save_checkpoint(model, checkpoint, scenario, dataset, history)
    return TrainedLink(scenario, scheme, dataset, model, history, checkpoint, out_dir)


@pytest.fixture(scope="session")
def tiny_scenario():
    """A small link on synthetic data through TDL-A with LS channel estimates: 256 training images, two
    epochs of 64-image batches without XLA (compiling would be most of the time; the command-line run and
    the quickstart notebook compile), the ``proposed`` scheme."""
    from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training

    return Scenario(name="tiny", data=Data(dataset="synthetic", num_train=256, num_test=64),
                    model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
                    phy=Phy(channel="TDL-A", csi="ls"), training=Training(jit_compile=False, epochs=2, batch_size=64),
                    sweep=Sweep(schemes=("proposed",)))


@pytest.fixture(scope="session")
def tiny_trained(tiny_scenario, tmp_path_factory) -> TrainedLink:
    """``tiny_scenario``'s ``proposed`` scheme, trained once per pytest run (per xdist worker)."""
    return _train_and_save(tiny_scenario, "proposed", tmp_path_factory.mktemp("tiny-trained"))


@pytest.fixture(scope="session")
def nested_scenario():
    """A small AWGN link with nested lengths in its ``adaptive-length`` scheme (2, 4, 8 or 16 of 16 channel
    uses, 256 of the 1,024 training images held out to fit the length policy) and 4 bits of SNR feedback."""
    from semcom_sim import Data, Model, Phy, Scenario, Scheme, Sweep, Training

    phy = Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
              pilot_ofdm_symbol_indices=(2,), snr_feedback_bits=4)
    return Scenario(name="nested", data=Data(dataset="synthetic", num_train=1024, num_test=256),
                    model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(32,)), phy=phy,
                    training=Training(jit_compile=False, epochs=2, batch_size=64, ebno_db_range=(0.0, 12.0),
                                      learning_rate=3e-3),
                    sweep=Sweep(ebno_db=(6.0,), batch_size=128),
                    schemes=(Scheme("adaptive-length", {"model.lengths": (2, 4, 8, 16),
                                                        "training.validation_samples": 256}),))


@pytest.fixture(scope="session")
def nested_trained(nested_scenario, tmp_path_factory) -> TrainedLink:
    """``nested_scenario``'s ``adaptive-length`` scheme, trained once per pytest run (per xdist worker), its length
    policy fitted on the held-out images."""
    from semcom_sim.schemes import resolve_scheme

    return _train_and_save(resolve_scheme(nested_scenario, "adaptive-length"), "adaptive-length",
                           tmp_path_factory.mktemp("nested-trained"))


# The files that take longest on a 2-core machine (minutes: their module fixtures train and sweep), longest first.
# They are collected first, so that ``-n 2 --dist loadfile`` (with ``--no-loadscope-reorder``, in pyproject.toml)
# starts them first and the two workers finish together instead of one running a long file alone at the end.
LONGEST_FIRST = ("e2e/test_compare.py", "e2e/test_rkd_sc_notebook.py", "test_ray_executor.py", "e2e/test_cli.py",
                 "test_search.py", "test_rkd_sc.py", "test_adaptation.py", "e2e/test_custom_parts.py",
                 "e2e/test_training_survives.py", "e2e/test_notebooks.py", "teacher/test_teacher_efficientnet.py",
                 "phy/test_mimo.py", "phy/test_phy_conventions.py")


def _collection_rank(item) -> int:
    path = item.path.as_posix()
    return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith("tests/" + name)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    """Every end-to-end test (``tests/e2e/``: the command line, the reduced comparisons, the notebooks) and every
    test that uses a trained model of the run (``TRAINED_FIXTURES``) is ``slow``: the fast lane
    ``-m "not slow"`` leaves them out; the full run keeps them. The files of ``LONGEST_FIRST`` come first (a stable
    sort: each file keeps its own order)."""
    for item in items:
        if "e2e" in item.path.parts or TRAINED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=_collection_rank)
