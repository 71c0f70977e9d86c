"""How much of a rebuilt top-K teacher distribution stays on the stored classes at each temperature.

    python -m scripts.cache_temperature CACHE [--t 1 2 4]
    python -m scripts.cache_temperature teacher_cache/wordnet-nouns-all-minilm-l6-v2-finetuned-top3.h5
"""

from __future__ import annotations

import argparse

import numpy as np

from semcom_sim.teacher import TeacherCache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", metavar="CACHE", help="a teacher cache file (.h5)")
    parser.add_argument("--t", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    args = parser.parse_args()
    cache = TeacherCache(args.cache)
    rows = np.arange(cache.num_samples)
    stored = cache.topk_indices[:, 0, :].astype(np.int64)
    print(f"{args.cache}: C = {cache.num_classes}, K = {cache.top_k}")
    for t in args.t:
        targets = cache.targets(rows, temperature=t)
        on_stored = np.take_along_axis(targets, stored, axis=1).sum(axis=1).mean()
        print(f"T = {t:g}: mass on the {cache.top_k} stored classes {on_stored:.3f}, "
              f"mean largest probability {targets.max(axis=1).mean():.3f}")


if __name__ == "__main__":
    main()
