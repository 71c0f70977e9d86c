"""A training survives a kill, an interrupt, a NaN and a full disk; one process writes a run directory at a time.

A tiny training runs as ``semcom-sim train`` in a subprocess and is killed (SIGKILL, from outside) in the middle of
an epoch; while it runs, a second command on the same directory is refused; the rerun resumes from the saved state
and ends with the checkpoint bytes of an uninterrupted training. The other failure paths run through the command
line in this process.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import killed_once_written

from semcom_sim import Scenario, load_scenario
from semcom_sim.checkpoints import Checkpoint
from semcom_sim.data import load_dataset
from semcom_sim.schemes import resolve_scheme
from semcom_sim.train import load_or_train
from semcom_sim.training_state import TrainingState, state_path_of

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
from semcom_sim import Data, Model, Phy, Scenario, Stage, Sweep, Training

STAGES = {stages}
scenario = Scenario(
    name="survives",
    data=Data(dataset="synthetic", num_train=512, num_test=64),
    model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(16,)),
    phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
            pilot_ofdm_symbol_indices=(2,)),
    training=Training(jit_compile=False, epochs=2, batch_size=32, state_every_steps=2, stages=STAGES),
    sweep=Sweep(schemes=("proposed",)),
)
"""
STAGE_KINDS = {
    "joint": "()",
    "two-stage": "(Stage(name='all', epochs=1), Stage(name='decoder', epochs=1, trainable=('decoder',), "
                 "learning_rate=3e-3))",
}


def _scenario_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.py"
    path.write_text(SCENARIO.format(stages=STAGE_KINDS[kind]))
    return path


def _checkpoint(scenario_path: Path, out: Path) -> tuple[Checkpoint, Scenario]:
    scenario = load_scenario(scenario_path)
    trained = resolve_scheme(scenario, "proposed")
    return Checkpoint.of(out, "proposed", trained, load_dataset(trained.data)), trained


def _temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*.tmp*")]


@pytest.mark.parametrize("kind", STAGE_KINDS)
def test_a_training_killed_mid_epoch_resumes_to_the_same_bytes(kind, tmp_path, semcom_sim_main):
    scenario_path = _scenario_file(tmp_path, kind)
    out = tmp_path / "run"
    checkpoint, trained = _checkpoint(scenario_path, out)
    state = state_path_of(checkpoint.weights_path)
    command = [sys.executable, "-m", "semcom_sim.cli", "train", scenario_path, "--out", out, "--no-progress"]
    with killed_once_written(command, state, cwd=ROOT) as first:
        # a second command on the directory in use is refused at once, naming the holder
        refused = semcom_sim_main("train", scenario_path, "--out", out, "--no-progress")
        assert refused.returncode == 2 and f"PID {first.pid}" in refused.stderr, refused
        assert len(refused.stderr.splitlines()) == 1
    saved = TrainingState.load(state, "proposed", checkpoint.fingerprint)
    assert saved.step > 0 and saved.order.size == 512  # killed in the middle of an epoch
    assert not checkpoint.exists()

    resumed = semcom_sim_main("train", scenario_path, "--out", out, "--no-progress")  # the lock died with its holder
    assert resumed.returncode == 0, resumed
    assert f"resuming from {state} at epoch 1, step {saved.step}" in resumed.stdout
    assert not state.exists() and not _temporaries(out)

    _, reference = load_or_train(trained, "proposed", load_dataset(trained.data), tmp_path / "uninterrupted",
                                 show_progress=False, log=lambda _: None)
    assert checkpoint.weights_digest() == reference.weights_digest()
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in checkpoint.meta()["history"]] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in reference.meta()["history"]]


def test_ctrl_c_says_where_the_training_resumes_and_leaves_nothing_half_written(tmp_path, semcom_sim_main,
                                                                             monkeypatch):
    import semcom_sim.train as train

    scenario_path = _scenario_file(tmp_path, "joint")
    out = tmp_path / "run"
    checkpoint, _ = _checkpoint(scenario_path, out)
    steps = []
    finite_or_stop = train._finite_or_stop

    def interrupt_at_step_5(*args):
        finite_or_stop(*args)
        steps.append(args[-2])
        if len(steps) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "_finite_or_stop", interrupt_at_step_5)
    proc = semcom_sim_main("train", scenario_path, "--out", out, "--no-progress")
    assert proc.returncode == 130
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and "rerun the same command to resume" in proc.stderr
    state = state_path_of(checkpoint.weights_path)
    assert f"resumes this training from epoch 1, step 4 ({state})" in proc.stdout
    assert state.is_file() and not checkpoint.exists() and not _temporaries(out)

    # without its state, the training starts from scratch and drops the curves the stopped one left
    curves = out / "tensorboard" / checkpoint.weights_path.name.removesuffix(".weights.h5")
    assert list(curves.glob("joint/events.out.tfevents.*")) == []  # stopped before its first epoch ended
    stale = curves / "joint" / "events.out.tfevents.0.stale"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    state.unlink()
    steps.clear()
    assert semcom_sim_main("train", scenario_path, "--out", out, "--no-progress").returncode == 130
    assert not stale.exists() and state.is_file()


def test_a_nan_loss_stops_the_training_in_one_line_and_keeps_the_last_good_state(tmp_path, semcom_sim_main,
                                                                                  monkeypatch):
    import tensorflow as tf

    import semcom_sim.train as train

    scenario_path = _scenario_file(tmp_path, "two-stage")
    out = tmp_path / "run"
    checkpoint, _ = _checkpoint(scenario_path, out)
    make_loss = train.make_loss

    def nan_from_step_7(cfg, terms):  # the loss of every step after the 6th of a stage is NaN
        loss_fn, calls = make_loss(cfg, terms), tf.Variable(0)

        def loss(outputs, labels, extras):
            value, parts = loss_fn(outputs, labels, extras)
            calls.assign_add(1)
            return value + tf.where(calls > 6, float("nan"), 0.0), parts

        return loss

    monkeypatch.setattr(train, "make_loss", nan_from_step_7)
    proc = semcom_sim_main("train", scenario_path, "--out", out, "--no-progress")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    state = state_path_of(checkpoint.weights_path)
    assert proc.stderr.splitlines() == ["semcom-sim: error: [proposed] the loss is nan in stage 'all', epoch 1, "
                                        f"step 7: training stopped; the last good state is kept in {state}"]
    assert TrainingState.load(state, "proposed", checkpoint.fingerprint).step == 6
    assert not checkpoint.exists()


def test_a_full_disk_gives_one_line_and_leaves_the_previous_files(tmp_path, semcom_sim_main, monkeypatch):
    scenario_path = _scenario_file(tmp_path, "joint")
    out = tmp_path / "run"
    out.mkdir()
    before = {"scenario.json": "{}\n", "results.csv": "scheme\n"}
    for name, text in before.items():
        (out / name).write_text(text)

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("semcom_sim.io.os.replace", no_space)
    proc = semcom_sim_main("train", scenario_path, "--out", out, "--no-progress")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    line, = proc.stderr.splitlines()
    assert line.startswith("semcom-sim: error: no space left on the device while writing ") and "intact" in line
    assert {name: (out / name).read_text() for name in before} == before
    assert not _temporaries(out)


@pytest.mark.parametrize("writer", ["checkpoint", "results", "teacher-cache"])
def test_a_full_disk_while_writing_leaves_the_previous_file_intact(writer, tmp_path, monkeypatch):
    from semcom_sim.results import ResultsStore
    from semcom_sim.system import build_model_for
    from semcom_sim.teacher.cache import TeacherCache, TeacherIdentity, write_cache
    from semcom_sim.train import save_checkpoint

    if writer == "checkpoint":  # the weights of a built model: what is written does not matter, how it is does
        checkpoint, trained = _checkpoint(_scenario_file(tmp_path, "joint"), tmp_path)
        dataset = load_dataset(trained.data)
        model = build_model_for(trained, dataset)
        save_checkpoint(model, checkpoint, trained, dataset, [{"epoch": 1}])
        target = checkpoint.weights_path
        write = lambda: save_checkpoint(model, checkpoint, trained, dataset, [])  # noqa: E731
    elif writer == "results":
        store = ResultsStore(tmp_path / "results.csv")
        row = dict(scheme="proposed", channel="AWGN", ebno_db=0.0, esno_db=0.0, accuracy=0.5, ci_low=0.4, ci_high=0.6,
                   samples=100, correct=50)
        store.put(row)
        target = store.path
        write = lambda: store.put({**row, "ebno_db": 1.0})  # noqa: E731
    else:
        target = tmp_path / "cache.h5"
        identity = TeacherIdentity("t", "0" * 64)

        def write(k=1):
            write_cache(target, topk_probs=np.full((4, 1, k), 1 / 3, np.float32),
                        topk_indices=np.tile(np.arange(k), (4, 1, 1)), num_classes=3, dataset_name="d",
                        dataset_fingerprint="abc", teacher=identity)

        write(3)
    before = target.read_bytes()

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("semcom_sim.io.os.replace", no_space)
    with pytest.raises(OSError, match=f"no space left on the device while writing {target}"):
        write()
    assert target.read_bytes() == before
    assert not _temporaries(tmp_path)
    if writer == "teacher-cache":
        assert TeacherCache(target, dataset_fingerprint="abc", teacher_name="t").top_k == 3
    if writer == "results":
        assert [r["ebno_db"] for r in ResultsStore(target).rows] == [0.0]
