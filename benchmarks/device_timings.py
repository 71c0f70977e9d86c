"""The quickstart's training, its sweep and the link's throughput on whatever device TensorFlow sees (a
GPU when there is one, else the CPU), with the device named; printed and appended to benchmarks/RESULTS.md.

    python -m benchmarks.device_timings [SCENARIO] [--epochs 2] [--sweep-samples 10000] \
        [--batch-sizes 64,256,1024,4096] [--no-append]

Measures, with the settings of SCENARIO (default ``scenarios/quickstart.py``; XLA as it says):

* training of ``proposed``: seconds of the first epoch (tracing and XLA compilation included) and of each
  later epoch (the steady state), and training samples per second;
* the sweep: ``--sweep-samples`` test samples at each of the scenario's Eb/N0 points through the
  trained model, as ``semcom-sim sweep`` evaluates them (batches of ``sweep.batch_size``): seconds and
  samples per second;
* the link's inference throughput (samples per second) at several Monte Carlo batch sizes, and the
  batch size that suits the device: the smallest within 10 % of the best throughput measured (pass it as
  ``--set sweep.batch_size=N``; docs/scaling.md says what it changes).

The teacher stage's device is torch's (``cuda`` when torch sees it): see ``semcom_sim.teacher.cost``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from benchmarks._common import append_results

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", default=str(ROOT / "scenarios" / "quickstart.py"),
                        help="scenario file (default: scenarios/quickstart.py)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs timed (at least 2)")
    parser.add_argument("--sweep-samples", type=int, default=10_000, help="test samples per Eb/N0 point")
    parser.add_argument("--batch-sizes", default=None,
                        help="Monte Carlo batch sizes for throughput (default: 64,256,1024,4096 on a CPU, "
                             "256,1024,4096,16384,65536 on a GPU)")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs: at least 2 (the first includes compilation)")

    import numpy as np
    import tensorflow as tf

    from semcom_sim import load_scenario
    from semcom_sim.cost import device_name
    from semcom_sim.data import load_dataset
    from semcom_sim.evaluate import AccuracyEvaluator
    from semcom_sim.train import train_model

    scenario = load_scenario(args.scenario)
    scenario = dataclasses.replace(scenario, training=dataclasses.replace(scenario.training, epochs=args.epochs))
    dataset = load_dataset(scenario.data)
    device = device_name()
    default = "256,1024,4096,16384,65536" if device.startswith("GPU") else "64,256,1024,4096"
    batch_sizes = [int(b) for b in (args.batch_sizes or default).split(",")]
    model, history = train_model(scenario, "proposed", dataset, show_progress=False, log=lambda s: None)
    first, rest = history[0]["seconds"], [h["seconds"] for h in history[1:]]
    steady = sum(rest) / len(rest)
    per_epoch = (dataset.num_train // scenario.training.batch_size) * scenario.training.batch_size
    lines = [f"| measure ({device}) | value |", "|---|---:|",
             f"| training, first epoch (with compilation) [s] | {first:.1f} |",
             f"| training, later epochs [s per epoch] | {steady:.1f} |",
             f"| training throughput [samples/s] | {per_epoch / steady:,.0f} |"]

    sweep = scenario.sweep
    evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, sweep.batch_size,
                                  jit_compile=scenario.training.jit_compile)
    evaluator.accuracy(float(sweep.ebno_db[0]), sweep.batch_size, seed=0)  # compile outside the timing
    start = time.perf_counter()
    for i, ebno in enumerate(sweep.ebno_db):
        evaluator.accuracy(float(ebno), args.sweep_samples, seed=i)
    seconds = time.perf_counter() - start
    total = len(sweep.ebno_db) * args.sweep_samples
    lines += [f"| sweep, {len(sweep.ebno_db)} points x {args.sweep_samples:,} samples (batch {sweep.batch_size}) [s] | "
              f"{seconds:.1f} |", f"| sweep throughput [samples/s] | {total / seconds:,.0f} |"]

    x = np.concatenate([dataset.x_test] * (1 + max(batch_sizes) // dataset.num_test))
    y = np.concatenate([dataset.y_test] * (1 + max(batch_sizes) // dataset.num_test))
    rates = {}
    for batch in batch_sizes:
        ev = AccuracyEvaluator(model, x, y, batch, jit_compile=scenario.training.jit_compile)
        ev.accuracy(10.0, batch, seed=0)  # compile
        repeats = max(3, 20_000 // batch)
        start = time.perf_counter()
        ev.accuracy(10.0, repeats * batch, seed=1)
        rates[batch] = repeats * batch / (time.perf_counter() - start)
        lines.append(f"| link inference at batch {batch} [samples/s] | {rates[batch]:,.0f} |")
    # a larger batch buys little past this point and costs memory and stopping granularity
    suited = min(b for b, r in rates.items() if r >= 0.9 * max(rates.values()))
    lines.append(f"| `sweep.batch_size` that suits this device (smallest within 10 % of the best throughput) | "
                 f"{suited} |")
    table = "\n".join(lines)
    title = (f"device_timings ({Path(args.scenario).name}, {device}, TensorFlow {tf.__version__}, "
             f"XLA {'on' if scenario.training.jit_compile else 'off'}, {args.epochs} epochs timed)")
    print(f"{title}\n\n{table}")
    if not args.no_append:
        append_results(title, table, "The first epoch includes tracing and XLA compilation; the quickstart's full "
                       f"training is {load_scenario(args.scenario).training.epochs} epochs.")


if __name__ == "__main__":
    main()
