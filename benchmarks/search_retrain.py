"""Does the searched encoder lose to the hand-designed one only because it is trained for too short?

Retrains, from scratch, with the search's own loss and data (``search`` section of SCENARIO.py: the
union of its weight and architecture splits, the cached teacher's distribution), the hand-designed
encoder of ``model.encoder_filters`` and the derived network of each genotype file, for each number of
epochs given; prints backbone parameters, test accuracy (no channel) with its 95 % Wilson interval, the
paired difference to the hand-designed encoder on the same test images (exact McNemar p-value) and
the training time, and appends the table to benchmarks/RESULTS.md:

    python -m benchmarks.search_retrain SCENARIO GENOTYPE [GENOTYPE ...] [--epochs 3 10] [--no-append]
    python -m benchmarks.search_retrain scenarios/search_fashion_mnist.py \
        docs/results/search_fashion_mnist/search/genotype-lambda0.json --epochs 3 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks._common import append_results
from semcom_sim import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO",
                        help="the search scenario (its data, teacher and search sections)")
    parser.add_argument("genotypes", metavar="GENOTYPE", nargs="+", help="genotype files of semcom-sim search")
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    import dataclasses

    import numpy as np

    from semcom_sim.data import load_dataset
    from semcom_sim.genotype import backbone_config
    from semcom_sim.search import SearchTargets, retrain, search_split
    from semcom_sim.semantic.darts import SearchedBackbone
    from semcom_sim.semantic.encoder import ConvBackbone
    from semcom_sim.sweep import paired_difference

    scenario = load_scenario(args.scenario)
    dataset = load_dataset(scenario.data)
    rows = np.sort(np.concatenate(search_split(dataset, scenario.search, scenario.search.seed)))
    targets = SearchTargets(scenario, dataset)
    lines = ["| encoder | epochs | backbone parameters | test accuracy [95 % CI] | vs hand-designed (paired) | "
             "training [s] |", "|---|---:|---:|---|---|---:|"]
    for epochs in args.epochs:
        sc = dataclasses.replace(scenario, search=dataclasses.replace(scenario.search, retrain_epochs=epochs))
        hand = retrain(sc, dataset, targets, ConvBackbone(scenario.model.encoder_filters), rows,
                        f"hand-designed, {epochs} epochs", print, keep_outcomes=True)
        lines.append(f"| hand-designed {scenario.model.encoder_filters} | {epochs} | {hand['parameters']:,} | "
                     f"{hand['accuracy']:.4f} [{hand['ci_low']:.4f}, {hand['ci_high']:.4f}] | | "
                     f"{hand['retrain_seconds']:.0f} |")
        for path in args.genotypes:
            net = SearchedBackbone(**backbone_config(path))
            out = retrain(sc, dataset, targets, net, rows, f"{Path(path).name}, {epochs} epochs", print,
                          keep_outcomes=True)
            d = paired_difference(out["correct"], hand["correct"], 0.95)
            lines.append(f"| {Path(path).name} | {epochs} | {out['parameters']:,} | {out['accuracy']:.4f} "
                         f"[{out['ci_low']:.4f}, {out['ci_high']:.4f}] | {100 * d['difference']:+.1f} "
                         f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] points, p = {d['p_value']:.2g} | "
                         f"{out['retrain_seconds']:.0f} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        append_results(f"search_retrain ({scenario.name})", table,
                       "Test accuracy without a channel after training from scratch with the search's loss "
                       "(the cached teacher's distribution) on both search splits; the paired difference is on "
                       "the same test images (paired square-and-add interval, exact McNemar p).")


if __name__ == "__main__":
    main()
