"""What does the channel-adaptive module of a trained quickstart model actually do?

    python -m scripts.adaptive_diagnostics [SCENARIO] [RUN_DIR]
    python -m scripts.adaptive_diagnostics scenarios/quickstart.py runs/quickstart

SCENARIO defaults to ``scenarios/quickstart.py``, RUN_DIR (where ``semcom-sim run`` wrote it) to
``runs/quickstart``.

Loads the trained 'proposed' checkpoint and measures, on the test set:

1. the module's weights ``w`` and the effective number of real features that carry the transmitted
   power (participation ratio of ``(w * mu)^2``) as a function of the SNR fed to the module;
2. accuracy at a few Eb/N0 points with the SNR the transmitter really learns (sounding + feedback)
   and with that input pinned to a constant (-5 dB and 20 dB), same channel and noise draws: if pinning changes
   nothing, the gain of the module is not SNR adaptation.

Prints a markdown report and writes it to docs/results/quickstart_adaptive_diagnostics.md.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import tensorflow as tf

from semcom_sim import load_scenario
from semcom_sim.checkpoints import Checkpoint, load_model
from semcom_sim.data import load_dataset
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.io import atomic_write_text
from semcom_sim.sweep import wilson_interval

ROOT = Path(__file__).resolve().parents[1]


def accuracy(model, dataset, ebno_db: float, frames: int = 10000, seed: int = 1) -> tuple[float, float, float]:
    evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 1000)
    batches = list(itertools.islice(evaluator.make_batches(ebno_db, seed), frames // 1000))
    correct, total = sum(b[0] for b in batches), sum(b[1] for b in batches)
    return (correct / total, *wilson_interval(correct, total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", default="scenarios/quickstart.py",
                        help="scenario file (default: scenarios/quickstart.py)")
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default="runs/quickstart",
                        help="run directory of semcom-sim run (default: runs/quickstart)")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    dataset = load_dataset(scenario.data)
    checkpoint = Checkpoint.of(args.run_dir, "proposed", scenario, dataset)  # "proposed": the scenario as written
    if not checkpoint.exists():
        raise SystemExit(f"no trained 'proposed' model in {args.run_dir}: run semcom-sim run {args.scenario} first")
    model = load_model(checkpoint, scenario, dataset)

    lines = [f"# Adaptive module diagnostics ({scenario.name})", "",
             f"Command: `python -m scripts.adaptive_diagnostics {args.scenario} {args.run_dir}`",
             "", "## Weights vs the SNR input (2000 test images)", "",
             "| SNR input [dB] | mean w | std of w over features | effective features carrying power (of "
             f"{2 * scenario.model.num_channel_uses}) |", "|---:|---:|---:|---:|"]
    mu, _ = model.encoder(tf.constant(dataset.x_test[:2000]))
    for snr in (-5.0, 0.0, 5.0, 10.0, 20.0):
        w = model.adaptive.weights_for(mu, tf.fill([2000, 1], snr)).numpy()
        power = (w * mu.numpy()) ** 2
        power /= power.sum(axis=1, keepdims=True)
        effective = (1.0 / (power ** 2).sum(axis=1)).mean()
        lines.append(f"| {snr:g} | {w.mean():.4f} | {w.std(axis=1).mean():.4f} | {effective:.1f} |")

    lines += ["", "## Accuracy with the fed-back SNR vs the SNR input pinned (10000 test frames, 95% Wilson)", "",
              "| Eb/N0 [dB] | fed-back SNR (as deployed) | pinned to -5 dB | pinned to 20 dB |", "|---:|---|---|---|"]
    sound = model.link.sound
    for ebno_db in (-6.0, 0.0, 6.0, 18.0):
        cells = []
        for pinned in (None, -5.0, 20.0):
            # The pinned variant still runs the sounding step (so every variant sees the same channel
            # and noise draws: a paired comparison) and then replaces what the transmitter learns.
            model.link.sound = sound if pinned is None else (
                lambda h, no, batch, v=pinned: 0.0 * sound(h, no, batch) + v)
            acc, low, high = accuracy(model, dataset, ebno_db)
            cells.append(f"{acc:.4f} [{low:.4f}, {high:.4f}]")
        model.link.sound = sound
        lines.append(f"| {ebno_db:g} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    atomic_write_text(ROOT / "docs" / "results" / "quickstart_adaptive_diagnostics.md", text)


if __name__ == "__main__":
    main()
