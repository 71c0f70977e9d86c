"""Sweep points are independent, picklable jobs; any executor that yields their results in order gives
the rows of the in-process sweep."""

import io
import pickle

from test_sweep import FakeEvaluator, _without_runtime

from semcom_sim.results import ResultsStore
from semcom_sim.sweep import (
    Executor,
    InProcessExecutor,
    SweepPoint,
    evaluate_point,
    pending_points,
    point_seed,
    run_sweep,
)

EBNO = (-4.0, 0.0, 4.0, 8.0)


class PicklingOutOfOrderExecutor(Executor):
    """Ships every job through pickle (as a process or cluster executor must) and evaluates the points in
    reverse order, each with a fresh copy of the evaluator, then yields the results in the points' order."""

    def __init__(self):
        self.shipped = 0

    def map(self, make_batches, points):
        done = {}
        for point in reversed(points):
            job = pickle.loads(pickle.dumps((point, make_batches)))
            self.shipped += 1
            done[point] = evaluate_point(*job)
        for point in points:
            yield done[point]


STOPPING = dict(ci_half_width=0.05, confidence=0.95, min_samples=200, max_samples=2000, base_seed=7)


def _sweep(tmp_path, name, executor=None, ebno_db=EBNO):
    return run_sweep(scheme="proposed", channel="AWGN", model_id="m1", ebno_db=ebno_db, make_batches=FakeEvaluator(),
                     esno_db_of=lambda e: e + 3.0, no_of=lambda e: 10 ** (-(e + 3.0) / 10),
                     store=ResultsStore(tmp_path / f"{name}.csv"), show_progress=False, stream=io.StringIO(),
                     executor=executor, **STOPPING)


def test_a_distributed_executor_gives_the_rows_of_the_in_process_one(tmp_path):
    reference = _sweep(tmp_path, "in-process")
    executor = PicklingOutOfOrderExecutor()
    rows = _sweep(tmp_path, "pickled", executor)
    assert executor.shipped == len(EBNO)
    assert _without_runtime(rows) == _without_runtime(reference)
    assert [r["ebno_db"] for r in rows] == list(EBNO)
    # the driver wrote the file in point order, like the in-process sweep
    assert _without_runtime(ResultsStore(tmp_path / "pickled.csv").rows) == _without_runtime(
        ResultsStore(tmp_path / "in-process.csv").rows)


def test_a_point_is_a_picklable_job_whose_result_depends_only_on_itself():
    point = SweepPoint(scheme="proposed", channel="AWGN", condition=None, ebno_db=2.0,
                       seed=point_seed(7, "proposed", 2.0), ci_half_width=0.05, confidence=0.95, min_samples=200,
                       max_samples=2000)
    assert pickle.loads(pickle.dumps(point)) == point
    first = evaluate_point(point, FakeEvaluator())
    again = evaluate_point(point, FakeEvaluator())
    assert (first.correct, first.samples, first.stop) == (again.correct, again.samples, again.stop)
    assert first.samples >= 200 and first.stop in ("ci", "max_samples")
    in_process = next(InProcessExecutor(show_progress=False).map(FakeEvaluator(), [point]))
    assert (in_process.correct, in_process.samples) == (first.correct, first.samples)


class RecordingExecutor(InProcessExecutor):
    """Evaluates in process and records the points each :meth:`map` was asked for."""

    def __init__(self):
        super().__init__(show_progress=False)
        self.asked = []

    def map(self, make_batches, points):
        self.asked.append(list(points))
        return super().map(make_batches, points)


def test_pending_points_are_the_points_the_sweep_hands_its_executor(tmp_path):
    # what a study prefetches must be exactly what the sweep later asks for, or points would run twice
    _sweep(tmp_path, "partial", ebno_db=EBNO[1:3])  # two of the four points are stored already
    pending = pending_points(scheme="proposed", channel="AWGN", model_id="m1", ebno_db=EBNO,
                             store=ResultsStore(tmp_path / "partial.csv"), **STOPPING)
    executor = RecordingExecutor()
    _sweep(tmp_path, "partial", executor)
    assert executor.asked == [pending] and [p.ebno_db for p in pending] == [EBNO[0], EBNO[3]]
    assert pending_points(scheme="proposed", channel="AWGN", model_id="m1", ebno_db=EBNO,
                          store=ResultsStore(tmp_path / "partial.csv"), **STOPPING) == []  # all stored now
