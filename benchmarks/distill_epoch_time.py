"""Time per training epoch: plain CE vs fast (cached) KD vs online KD, same student and batch, on CPU.

    python -m benchmarks.distill_epoch_time [SCENARIO] [--steps 60] [--modes none cached online] [--no-append]
    python -m benchmarks.distill_epoch_time scenarios/fmnist_kd.py --steps 40

Times ``--steps`` XLA-compiled train steps of each mode after warm-up (the cached and online modes
include producing the teacher targets for every batch) and scales to one epoch of the scenario's
training set (SCENARIO, default ``scenarios/fmnist_kd.py``). Prints a table and appends it to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks._common import append_results
from semcom_sim import load_scenario
from semcom_sim.data import load_dataset
from semcom_sim.losses import make_loss
from semcom_sim.system import build_model_for, seed_everything
from semcom_sim.train import CachedTeacherTargets, train_step_fn


def seconds_per_step(scenario, dataset, mode: str, steps: int) -> float:
    s = dataclasses.replace(scenario, training=dataclasses.replace(scenario.training, distillation=mode))
    seed_everything(0)
    model = build_model_for(s, dataset)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    step = train_step_fn(model, optimizer, make_loss(s.training), s.training.ebno_db_range, True)
    if mode == "cached":
        targets = CachedTeacherTargets(s, dataset)
    elif mode == "online":
        from semcom_sim.teacher.stage import OnlineTeacherTargets

        targets = OnlineTeacherTargets(s, dataset)
    else:
        def targets(rows):
            return {}
    batch = s.training.batch_size
    rng = np.random.default_rng(0)

    def one_step():
        rows = np.sort(rng.choice(dataset.x_train.shape[0], batch, replace=False))
        loss, _, _ = step(tf.constant(dataset.x_train[rows]), tf.constant(dataset.y_train[rows]), targets(rows))
        float(loss)

    for _ in range(3):
        one_step()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", default="scenarios/fmnist_kd.py",
                        help="scenario file (default: scenarios/fmnist_kd.py)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--modes", nargs="+", default=["none", "cached", "online"])
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    dataset = load_dataset(scenario.data)
    steps_per_epoch = dataset.x_train.shape[0] // scenario.training.batch_size
    times = {mode: seconds_per_step(scenario, dataset, mode, args.steps) for mode in args.modes}
    lines = [f"| mode | s per step | s per epoch ({steps_per_epoch} steps) | vs plain CE |", "|---|---:|---:|---:|"]
    names = {"none": "plain CE (no KD)", "cached": "fast KD (teacher cache)",
             "online": "online KD (teacher in the loop)"}
    for mode, t in times.items():
        ratio = f"{t / times['none']:.2f}x" if "none" in times else "-"
        lines.append(f"| {names[mode]} | {t:.4f} | {t * steps_per_epoch:.1f} | {ratio} |")
    if "cached" in times and "online" in times:
        lines.append(f"\nOnline KD / cached KD: {times['online'] / times['cached']:.1f}x")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        append_results(f"distill_epoch_time ({scenario.name}, teacher {scenario.teacher.name}, batch "
                       f"{scenario.training.batch_size}, {args.steps} timed steps)", table)


if __name__ == "__main__":
    main()
