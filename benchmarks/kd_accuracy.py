"""Student accuracy with fast (cached) KD vs without KD: by training-data fraction, or by cache K.

    python -m benchmarks.kd_accuracy [SCENARIO] --study {fraction,topk} [options] [--no-append]
    python -m benchmarks.kd_accuracy scenarios/fmnist_kd.py --study fraction --same-steps --epochs 5
    python -m benchmarks.kd_accuracy scenarios/fmnist_kd.py --study topk --ks 1 3 5 10

SCENARIO defaults to ``scenarios/fmnist_kd.py``.

``fraction``: for each stratified fraction of the training set, trains the scenario's student with
plain CE and with cached KD (same seed, same epochs; with ``--same-steps`` the epochs grow as
1/fraction so every fraction gets the optimizer steps of the full run) and measures accuracy at ``--ebno`` points over
``--frames`` test samples each, with 95% Wilson intervals and a Newcombe interval on the difference.
``topk``: from a full teacher cache (K = number of classes; built with the prepared teacher if
missing) derives top-K caches, reports their file size and trains one KD student per K.
Prints a table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._common import append_results
from semcom_sim import load_scenario
from semcom_sim.data import load_dataset
from semcom_sim.evaluate import AccuracyEvaluator
from semcom_sim.sweep import difference_interval, wilson_interval
from semcom_sim.teacher import TeacherCache, TeacherIdentity, compress_topk, rebuild_distribution, write_cache
from semcom_sim.train import train_model


def with_fields(scenario, section: str, **fields):
    return dataclasses.replace(scenario, **{section: dataclasses.replace(getattr(scenario, section), **fields)})


def evaluate(model, dataset, points, frames: int, seed: int = 1) -> dict[float, tuple[int, int]]:
    evaluator = AccuracyEvaluator(model, dataset.x_test, dataset.y_test, 1000)
    out = {}
    for ebno in points:
        batches = list(itertools.islice(evaluator.make_batches(ebno, seed), max(1, frames // 1000)))
        out[ebno] = (sum(b[0] for b in batches), sum(b[1] for b in batches))
    return out


def cell(correct: int, total: int) -> str:
    low, high = wilson_interval(correct, total)
    return f"{correct / total:.4f} [{low:.4f}, {high:.4f}]"


def fraction_study(scenario, dataset, fractions, points, frames, same_steps: bool) -> str:
    lines = ["| train fraction | samples | epochs | Eb/N0 [dB] | no KD (CE) | fast KD | KD - CE [95% Newcombe] |",
             "|---:|---:|---:|---:|---|---|---|"]
    for fraction in fractions:
        results = {}
        # same_steps: every fraction gets the optimizer steps of the full run (epochs / fraction), so a
        # small fraction is not simply under-trained
        epochs = int(np.ceil(scenario.training.epochs / fraction)) if same_steps else scenario.training.epochs
        for mode in ("none", "cached"):
            s = with_fields(scenario, "training", distillation=mode, train_fraction=fraction, epochs=epochs)
            model, _ = train_model(s, "proposed", dataset, show_progress=False, log=lambda m: None)
            results[mode] = evaluate(model, dataset, points, frames)
        samples = int(round(fraction * dataset.x_train.shape[0]))
        for ebno in points:
            (c_ce, n_ce), (c_kd, n_kd) = results["none"][ebno], results["cached"][ebno]
            d, lo, hi = difference_interval(c_kd, n_kd, c_ce, n_ce)
            verdict = "KD better" if lo > 0 else ("KD worse" if hi < 0 else "within CI")
            lines.append(f"| {fraction:g} | {samples} | {epochs} | {ebno:g} | {cell(c_ce, n_ce)} | "
                         f"{cell(c_kd, n_kd)} | {d:+.4f} [{lo:+.4f}, {hi:+.4f}] {verdict} |")
        print("\n".join(lines[-len(points):]), flush=True)
    return "\n".join(lines)


def topk_study(scenario, dataset, ks, points, frames) -> str:
    from semcom_sim.teacher.stage import build_cache

    full = with_fields(scenario, "teacher", top_k=dataset.num_classes)
    full_path = full.teacher.resolved_cache_path(dataset.name)
    if not full_path.is_file():
        build_cache(full, dataset)
    cache = TeacherCache(full_path, dataset_fingerprint=dataset.fingerprint, teacher_name=scenario.teacher.name)
    probs = rebuild_distribution(cache.topk_probs, cache.topk_indices, cache.num_classes)  # exact: K = C
    lines = ["| K | cache file [bytes] | stored bytes per sample | " + " | ".join(f"Eb/N0 {e:g} dB" for e in points)
             + " |", "|---:|---:|---:|" + "---|" * len(points)]
    with tempfile.TemporaryDirectory() as tmp:
        for k in ks:
            path = Path(tmp) / f"top{k}.h5"
            values, indices = compress_topk(probs, k)
            manifest = cache.manifest
            write_cache(path, topk_probs=values, topk_indices=indices, num_classes=cache.num_classes,
                        dataset_name=dataset.name, dataset_fingerprint=dataset.fingerprint,
                        teacher=TeacherIdentity(**manifest["teacher"]), creation={"derived_from": str(full_path)})
            s = with_fields(with_fields(scenario, "teacher", top_k=k, cache_path=str(path)), "training",
                            distillation="cached")
            model, _ = train_model(s, "proposed", dataset, show_progress=False, log=lambda m: None)
            acc = evaluate(model, dataset, points, frames)
            lines.append(f"| {k} | {path.stat().st_size} | {4 * k} | "
                         + " | ".join(cell(*acc[e]) for e in points) + " |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", default="scenarios/fmnist_kd.py",
                        help="scenario file (default: scenarios/fmnist_kd.py)")
    parser.add_argument("--study", choices=("fraction", "topk"), required=True)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 3, 5, 10])
    parser.add_argument("--ebno", type=float, nargs="+", default=[-6.0, 0.0, 18.0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a scenario field, as on the semcom-sim command line")
    parser.add_argument("--same-steps", action="store_true",
                        help="fraction study: train every fraction for the optimizer steps of the full run")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, args.overrides)
    if args.epochs:
        scenario = with_fields(scenario, "training", epochs=args.epochs)
    dataset = load_dataset(scenario.data)
    if args.study == "fraction":
        table = fraction_study(scenario, dataset, args.fractions, args.ebno, args.frames, args.same_steps)
    else:
        table = topk_study(scenario, dataset, args.ks, args.ebno, args.frames)
    print(table)
    if not args.no_append:
        append_results(f"kd_accuracy --study {args.study} ({scenario.name}, teacher {scenario.teacher.name}, "
                       f"{scenario.training.epochs} epochs"
                       f"{' scaled to equal steps' if getattr(args, 'same_steps', False) else ''}, "
                       f"T={scenario.training.kd_temperature:g}, "
                       f"{scenario.phy.channel} {scenario.phy.csi} CSI)", table,
                       f"Accuracy over {args.frames} test samples per point with 95% Wilson intervals; "
                       "same seed and epochs for both students.")


if __name__ == "__main__":
    main()
