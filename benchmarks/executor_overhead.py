"""What the Ray executor costs on this machine, against the in-process one: starting a local Ray instance,
shipping a dataset through its object store, the overhead per task, and a small comparison end to end
(trainings and sweep points as tasks); printed and appended to benchmarks/RESULTS.md.

    python -m benchmarks.executor_overhead [--cpus 2] [--tasks 200] [--no-append]

The overhead per task is the wall time of ``--tasks`` jobs that do nothing but return, each with a
Fashion-MNIST-sized dataset (60,000 x 28 x 28 float32) that travels once through the object store. The
comparison is ``scenarios/compare_tiny_synthetic.py`` (synthetic data, no XLA, 3 trainings, 8 sweep
points); its rows must be identical, and the script stops with an error if they are not.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import append_results

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True, eq=False)
class NoOp:
    """A job that returns its index: what a task costs beyond its work."""

    index: int
    dataset: object = None

    def __call__(self) -> int:
        return self.index if self.dataset is None else self.index + 0 * int(self.dataset.shape[0])


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "runtime_s"} for r in csv.DictReader(f)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks timed per executor")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    from semcom_sim import load_scenario
    from semcom_sim.experiment import compare
    from semcom_sim.sweep import InProcessExecutor, RayExecutor

    scenario = load_scenario(ROOT / "scenarios" / "compare_tiny_synthetic.py")

    data = np.zeros((60_000, 28, 28, 1), np.float32)
    jobs = [NoOp(i, data) for i in range(args.tasks)]
    lines = [f"| measure | in-process | Ray (local, {args.cpus} CPUs) |", "|---|---:|---:|"]

    start = time.perf_counter()
    in_process = list(InProcessExecutor(show_progress=False).run(jobs))
    local_per_task = (time.perf_counter() - start) / args.tasks

    start = time.perf_counter()
    ray_executor = RayExecutor(num_cpus=args.cpus)
    startup = time.perf_counter() - start
    list(ray_executor.run(jobs[:args.cpus]))  # workers started, dataset put once
    first = time.perf_counter() - start - startup
    start = time.perf_counter()
    distributed = list(ray_executor.run(jobs))
    ray_per_task = (time.perf_counter() - start) / args.tasks
    if distributed != in_process:
        raise SystemExit("the Ray executor returned other results than the in-process one")
    lines += [f"| start of a local Ray instance [s] | - | {startup:.1f} |",
              f"| first {args.cpus} tasks (workers start, 188 MB dataset put once) [s] | - | {first:.1f} |",
              f"| overhead per task, {args.tasks} no-op tasks [ms] | {1e3 * local_per_task:.3f} | "
              f"{1e3 * ray_per_task:.1f} |"]

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        compare(scenario, out / "in-process", show_progress=False, log=lambda s: None)
        local_s = time.perf_counter() - start
        start = time.perf_counter()
        compare(scenario, out / "ray", show_progress=False, log=lambda s: None, executor=ray_executor)
        ray_s = time.perf_counter() - start
        same = _rows(out / "in-process" / "results.csv") == _rows(out / "ray" / "results.csv")
    ray_executor.close()
    if not same:
        raise SystemExit("the tiny comparison gave other rows through Ray than in-process")
    lines.append(f"| tiny comparison (3 trainings, 8 sweep points; rows identical) [s] | {local_s:.1f} | "
                 f"{ray_s:.1f} |")
    table = "\n".join(lines)
    title = f"executor_overhead (local Ray instance with {args.cpus} CPUs, {args.tasks} no-op tasks)"
    print(f"{title}\n\n{table}")
    if not args.no_append:
        append_results(title, table, "The Ray column includes starting the workers' Python and TensorFlow in the "
                       "comparison; on a cluster each machine adds its own start-up once.")


if __name__ == "__main__":
    main()
