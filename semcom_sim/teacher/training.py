"""Torch fine-tuning shared by the image teachers (EfficientNet-Lite and the Hugging Face teachers).

* :func:`finetune_loop`: AdamW (weight decay on matrices and kernels only), learning rate warmed up
  linearly over the first :data:`WARMUP_FRACTION` of the steps then cosine-decayed to zero, plain
  cross-entropy, shuffled batches that drop the last partial batch of each epoch.
* :func:`augment`: random horizontal flip (p = 0.5) and a random shift of up to :data:`AUGMENT_SHIFT`
  pixels (a crop of the zero-padded image), on the dataset's own images before any resizing.
* :func:`state_dict_sha256`: a hash that names a state dict's weights independently of the file
  they are stored in.
* :func:`median_latency_ms`: median wall time of warm calls.

Imports torch; imported only by the teacher runners.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semcom_sim.data.base import seeded_rng
from semcom_sim.teacher.runner_base import TeacherError

__all__ = ["AUGMENT_SHIFT", "WARMUP_FRACTION", "augment", "finetune_loop", "median_latency_ms", "state_dict_sha256"]

AUGMENT_SHIFT = 2  # random-crop padding in pixels of the dataset's image
WARMUP_FRACTION = 0.05


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip (p = 0.5) and random crop of the zero-padded image: [B, C, H, W]."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    s = AUGMENT_SHIFT
    padded = F.pad(x, (s, s, s, s))
    dy = torch.randint(0, 2 * s + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * s + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    # advanced indices split by the channel slice come first: [B, H, W, C] -> [B, C, H, W]
    return padded[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over a state dict: sorted names, each name, dtype, shape and raw bytes."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def median_latency_ms(call: Callable[[], Any], warmup: int = 5, runs: int = 20) -> float:
    """Median wall time of ``runs`` calls after ``warmup`` calls, in ms."""
    times = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        call()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def finetune_loop(parameters: Iterable[nn.Parameter], modules: Sequence[nn.Module],
                  batch_logits: Callable[[torch.Tensor, torch.Generator], torch.Tensor], y_train: torch.Tensor, *,
                  name: str, header: str, epochs: int, batch_size: int, lr: float, weight_decay: float, seed: int,
                  shuffle_stream: int, max_steps: int | None, device: torch.device,
                  log: Callable[[str], Any]) -> dict[str, Any]:
    """Trains ``parameters`` with cross-entropy against ``y_train`` (see the module docstring).

    :param modules: put in training mode for the loop (dropout, batch norm); left so afterwards.
    :param batch_logits: ``(rows, generator) -> logits [B, C]`` on ``device`` for the training-set rows
        ``rows`` (int64 [B]); ``generator`` draws the augmentation.
    :param name: what diverged, in the error. :param header: the first log line, before the schedule.
    :param shuffle_stream: the :func:`~semcom_sim.data.base.seeded_rng` stream of the batch order.
    :param max_steps: stop after this many optimizer steps (the schedule spans them); ``None``: all epochs.
    :return: ``steps``, ``epochs`` (completed, fractional if ``max_steps`` stopped early), ``batch_size``,
        ``steps_per_second``, ``schedule``, ``train_seconds``, ``final_train_loss`` (mean over the run),
        ``num_train``.
    :raises TeacherError: the loss is not finite (lower the learning rate).
    """
    generator = torch.Generator().manual_seed(seed)
    rng = seeded_rng(seed, shuffle_stream)
    n = int(y_train.shape[0])
    batch = min(int(batch_size), n)
    steps_per_epoch = n // batch
    total = epochs * steps_per_epoch if max_steps is None else min(epochs * steps_per_epoch, int(max_steps))
    parameters = list(parameters)
    decay = [p for p in parameters if p.ndim > 1]
    no_decay = [p for p in parameters if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    warmup = max(1, round(WARMUP_FRACTION * total))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    log(f"{header}, {total} steps of batch {batch} ({steps_per_epoch} per epoch), AdamW lr {lr:g}, device {device}")
    log_every = max(1, min(50, total // 20))
    step, loss_sum, correct, seen = 0, 0.0, 0, 0
    for module in modules:
        module.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for i in range(steps_per_epoch):
            if step >= total:
                break
            idx = order[i * batch:(i + 1) * batch]
            logits = batch_logits(idx, generator)
            y = y_train[idx].to(device)
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise TeacherError(f"fine-tuning {name} diverged at step {step + 1} (loss {loss.item()}); "
                                   "lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(-1) == y).sum())
            seen += len(idx)
            if step % log_every == 0 or step == total:
                elapsed = time.perf_counter() - t0
                log(f"  epoch {epoch + 1} step {step}/{total}: train loss {loss_sum / seen:.4f}, "
                    f"train acc {correct / seen:.4f}, lr {scheduler.get_last_lr()[0]:.2e}, "
                    f"{step / elapsed:.2f} steps/s, eta {(total - step) * elapsed / step:.0f} s")
        if step >= total:
            break
    train_seconds = time.perf_counter() - t0
    return {"steps": step, "epochs": round(step / steps_per_epoch, 4), "batch_size": batch,
            "steps_per_second": step / train_seconds if train_seconds > 0 else float("nan"),
            "schedule": f"linear warm-up {warmup} steps, cosine to 0", "train_seconds": train_seconds,
            "final_train_loss": loss_sum / max(seen, 1), "num_train": n}
