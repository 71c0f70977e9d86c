"""The architecture search's cost on this machine, read from a finished ``semcom-sim search`` directory
(``search.json``, ``pareto.csv``): search time per ``lambda``, retraining time per network and the
whole run; printed and appended to benchmarks/RESULTS.md. It computes nothing new:

    python -m benchmarks.search_time RUN_DIR [--no-append]
    python -m benchmarks.search_time docs/results/search_fashion_mnist/search
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks._common import append_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the --out directory of semcom-sim search")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    path = Path(args.run_dir) / "search.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run semcom-sim search first")
    summary = json.loads(path.read_text())
    cfg = summary["search"]
    lines = ["| network | lambda | backbone parameters | test accuracy | search [s] | retraining [s] |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in summary["pareto"]:
        search_s = f"{float(r['search_seconds']):.0f}" if r["search_seconds"] != "" else ""
        lines.append(f"| {r['kind']} | {r['lambda']} | {int(r['parameters']):,} | {float(r['accuracy']):.4f} | "
                     f"{search_s} | {float(r['retrain_seconds']):.0f} |")
    lines.append(f"| whole run | | | | | {summary['seconds']:.0f} |")
    table = "\n".join(lines)
    title = (f"search_time ({summary['scenario']}, commit {summary['commit']}, {summary['date']}; {cfg['cells']} "
             f"cells x {cfg['nodes']} nodes, C = {cfg['channels']}, stem stride {cfg.get('stem_stride', 1)}, "
             f"{cfg['epochs']} epochs of {cfg['train_samples']} + {cfg['validation_samples']} samples, batch "
             f"{cfg['batch_size']})")
    print(f"{title}\n\n{table}")
    if not args.no_append:
        append_results(title, table, f"Read from the search's own search.json; the search ran on "
                       f"{summary.get('machine', 'the machine that wrote search.json (not recorded there)')}.")


if __name__ == "__main__":
    main()
