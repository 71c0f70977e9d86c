"""The Ray executor (``--executor ray``, the optional extra ``semcom-sim[ray]``): a tiny comparison gives the
rows of the in-process run; a worker killed in the middle of a training or of a sweep point is retried
with no row lost or duplicated (the training resumes from its saved state); a driver killed in the middle of
a sweep resumes; bad input is one line.

Every test runs Ray on this machine: one local instance with one CPU (the test runner has the other),
which the killed driver joins with ``--address`` as it would join a cluster."""

import csv
import dataclasses
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray executor is an optional extra: pip install 'semcom-sim[ray]'")

from semcom_sim import load_scenario  # noqa: E402
from semcom_sim.cli import main  # noqa: E402
from semcom_sim.errors import InputError  # noqa: E402
from semcom_sim.evaluate import BatchSource, EpochValidator  # noqa: E402
from semcom_sim.experiment import Experiment, compare  # noqa: E402
from semcom_sim.report.render import RunFiles  # noqa: E402
from semcom_sim.results import RESULTS_CSV, ResultsStore  # noqa: E402
from semcom_sim.schemes import resolve_test_scenario  # noqa: E402
from semcom_sim.sweep import InProcessExecutor, RayExecutor, check_ray_address, make_executor, run_sweep  # noqa: E402
from semcom_sim.train import TrainJob  # noqa: E402

pytestmark = pytest.mark.slow  # every test here trains a model

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny_synthetic.py"

TINY_COMPARE = ROOT / "scenarios" / "compare_tiny_synthetic.py"


def _rows(path: Path) -> list[dict]:
    """The rows of a results file without the wall-clock column."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != "runtime_s"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor(num_cpus=1)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the dying jobs below, in the workers
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The tiny comparison run in this process: the reference of the Ray runs."""
    return compare(load_scenario(TINY_COMPARE), tmp_path_factory.mktemp("ray") / "in-process", show_progress=False,
                   log=lambda s: None)


def test_a_tiny_comparison_through_ray_gives_the_rows_of_the_in_process_one(tmp_path, executor, in_process,
                                                                           monkeypatch):
    scenario, reference = in_process.scenario, in_process
    ahead = []  # at each sweep's collection: how many points were submitted ahead and not yet collected
    submitted = []  # every point submitted as a task
    collect, submit = RayExecutor.map, RayExecutor._submit

    def spying_map(self, make_batches, points):
        ahead.append((len(self._prefetched), len(points)))
        return collect(self, make_batches, points)

    def spying_submit(self, job, point=None):
        submitted.append(point)
        return submit(self, job, point)

    monkeypatch.setattr(RayExecutor, "map", spying_map)
    monkeypatch.setattr(RayExecutor, "_submit", spying_submit)
    distributed = compare(scenario, tmp_path / "ray", show_progress=False, log=lambda s: None, executor=executor)
    expected, got = _rows(reference.out_dir / RESULTS_CSV), _rows(tmp_path / "ray" / RESULTS_CSV)
    # 2 points, the same for a second training seed, 2 feedback points, 2 fractions at one point
    assert len(expected) == 8 and got == expected
    assert {r.get("variant") for r in got} == {"", "seed", "feedback", "fraction"}
    # the workers wrote the checkpoints: the same weights, byte for byte (same model ids above)
    names = sorted(p.name for p in (reference.out_dir / "checkpoints").glob("*.weights.h5"))
    assert len(names) == 3 and names == sorted(p.name for p in (tmp_path / "ray" / "checkpoints").glob("*.weights.h5"))
    for name in names:
        assert (tmp_path / "ray" / "checkpoints" / name).read_bytes() == \
            (reference.out_dir / "checkpoints" / name).read_bytes()
    assert distributed.timings["train_s"] > 0
    assert RunFiles(reference.out_dir).rows() and RunFiles(distributed.out_dir).rows()
    # every sweep's points were submitted before the first was collected: when the fractions study
    # collected its first sweep (one point), the second sweep's point was in flight too; nothing was left
    assert (2, 1) in ahead and all(prefetched >= own for prefetched, own in ahead) and executor._prefetched == {}
    points = [p for p in submitted if p is not None]  # each computed row's point ran once: none submitted twice
    assert len(points) == len(set(points)) == len(got)


# -- faults: a worker killed in the middle of a job -------------------------------------------------

def _kill_once(marker: str) -> None:
    """Kills this process the first time (the marker says a first time happened)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


@dataclasses.dataclass(frozen=True, eq=False)
class DyingTrainJob(TrainJob):
    """A training whose worker dies at step 5 of its first epoch, the first time it runs (the training state was
    saved at step 4); every attempt appends the steps it runs to ``steps_log``."""

    marker: str = ""
    steps_log: str = ""

    def __call__(self, log=None):
        import semcom_sim.train as train

        check = train._finite_or_stop

        def finite_or_stop(loss, scheme, stage, epoch, step, state_path):
            check(loss, scheme, stage, epoch, step, state_path)
            with open(self.steps_log, "a") as f:
                f.write(f"{os.getpid()} {epoch} {step}\n")
            if step == 5:
                _kill_once(self.marker)

        train._finite_or_stop = finite_or_stop
        try:
            return super().__call__(log or (lambda s: None))
        finally:
            train._finite_or_stop = check


@dataclasses.dataclass(frozen=True, eq=False)
class DyingBatchSource(BatchSource):
    """Batches whose worker dies after the first batch of a point, the first time."""

    marker: str = ""

    def __call__(self, ebno_db, seed):
        for i, batch in enumerate(super().__call__(ebno_db, seed)):
            if i == 1:
                _kill_once(self.marker)
            yield batch


def _sweep(source, store_path, executor):
    scenario = source.scenario
    return run_sweep(scheme="proposed", channel=scenario.phy.channel, model_id="m", ebno_db=(0.0, 5.0, 10.0),
                     make_batches=source, esno_db_of=float, no_of=float, store=ResultsStore(store_path),
                     ci_half_width=0.02, confidence=0.95, min_samples=256, max_samples=1024, base_seed=3,
                     show_progress=False, stream=io.StringIO(), executor=executor)


def test_a_worker_killed_in_a_training_or_a_point_is_retried_with_no_row_lost_or_doubled(tmp_path, executor,
                                                                                          in_process):
    trained = in_process.base["proposed"]  # the comparison's training of proposed, with its held-out monitor
    dataset = in_process.dataset_for(trained)
    out = str(tmp_path / "out")
    marker, steps_log = tmp_path / "killed-training", tmp_path / "steps"
    every_4 = dataclasses.replace(trained, training=dataclasses.replace(trained.training, state_every_steps=4))
    validator = EpochValidator.for_scenario(in_process.scenario, "proposed", trained, dataset)
    job = DyingTrainJob(every_4, "proposed", dataset, out, validator=validator, marker=str(marker),
                        steps_log=str(steps_log))
    [path] = list(executor.run([job]))
    assert marker.exists()  # the first attempt died in the middle of the epoch, after the state of step 4...
    attempts = {}
    for line in steps_log.read_text().splitlines():
        pid, epoch, step = line.split()
        attempts.setdefault(pid, []).append((int(epoch), int(step)))
    first, retry = attempts.values()
    assert first[-1] == (1, 5) and retry[0] == (1, 5)  # ...and the retry resumed there
    checkpoint = in_process.checkpoint("proposed", trained)  # trained there without a kill
    assert checkpoint.exists() and Path(path).read_bytes() == checkpoint.weights_path.read_bytes()
    scenario = in_process.scenario

    tested = resolve_test_scenario(scenario, "proposed")
    source = BatchSource(checkpoint, tested, dataset, 128, False)
    expected = _sweep(source, tmp_path / "in-process.csv", InProcessExecutor(show_progress=False))
    marker = tmp_path / "killed-point"
    rows = _sweep(DyingBatchSource(checkpoint, tested, dataset, 128, False, marker=str(marker)),
                  tmp_path / "ray.csv", executor)
    assert marker.exists()
    strip = [{k: v for k, v in r.items() if k != "runtime_s"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "runtime_s"} for r in expected]
    assert _rows(tmp_path / "ray.csv") == _rows(tmp_path / "in-process.csv")  # three rows, once each


def test_a_killed_driver_resumes_its_sweep_where_it_stopped(tmp_path, executor):
    out, reference = tmp_path / "run", tmp_path / "reference"
    overrides = ["sweep.ebno_db=(0.0, 5.0, 10.0)", "sweep.ci_half_width=0.02", "sweep.max_samples=4000",
                 "sweep.schemes=('proposed',)", "training.epochs=2", "training.jit_compile=false"]
    scenario = load_scenario(TINY, overrides)
    Experiment.open(scenario, out, show_progress=False, log=lambda s: None).train()
    shutil.copytree(out / "checkpoints", reference / "checkpoints")
    command = [sys.executable, "-m", "semcom_sim.cli", "sweep", str(TINY), "--out", str(out), "--no-progress",
               "--executor", "ray", "--address", ray.get_runtime_context().gcs_address]
    command += [w for o in overrides for w in ("--set", o)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    results = out / RESULTS_CSV
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None and not (results.exists() and _rows(results)):
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver; the cluster it joined lives on
    driver.wait()
    done = len(_rows(results))
    points = len(scenario.sweep.ebno_db) * len(scenario.sweep.schemes)
    assert 1 <= done < points, "the driver was to be killed in the middle of the sweep"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stdout.count("resumed (stored)") == done
    Experiment.open(scenario, reference, show_progress=False, log=lambda s: None).sweep()
    key = ("scheme", "ebno_db")
    got = sorted(_rows(results), key=lambda r: tuple(r[k] for k in key))
    assert got == sorted(_rows(reference / RESULTS_CSV), key=lambda r: tuple(r[k] for k in key))
    assert len({tuple(r[k] for k in key) for r in got}) == points  # no point lost or doubled


# -- bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("address,message", [
    ("127.0.0.1:9", "no Ray cluster answers at 127.0.0.1:9"),
    ("localhost", "is not HOST:PORT"),
    ("ray://host:port", "is not HOST:PORT"),
    ("10.0.0.1:70000", "is not HOST:PORT"),
])
def test_a_bad_address_is_one_line_at_once(address, message):
    start = time.perf_counter()
    with pytest.raises(InputError, match=message):
        check_ray_address(address, timeout_s=2.0)
    assert time.perf_counter() - start < 10.0  # Ray itself would wait minutes


def test_a_bad_address_on_the_command_line_exits_2_with_one_line(capsys):
    assert main(["sweep", str(TINY), "--executor", "ray", "--address", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--address: no Ray cluster answers at 127.0.0.1:9" in err
    assert main(["sweep", str(TINY), "--address", "127.0.0.1:9"]) == 2
    assert "only with --executor ray" in capsys.readouterr().err


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match=r"pip install 'semcom-sim\[ray\]'"):
        make_executor("ray")
    assert isinstance(make_executor("in-process"), InProcessExecutor)
