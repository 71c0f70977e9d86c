"""Torch fine-tuning shared by the teachers (EfficientNet-Lite, the Hugging Face teachers and the
fine-tuned all-MiniLM-L6-v2 text teacher).

* :func:`finetune_loop`: AdamW (weight decay on matrices and kernels only; an optional head trained at
  a multiple of the learning rate), learning rate warmed up linearly over the first
  :data:`WARMUP_FRACTION` of the steps (by default) then cosine-decayed (or linearly decayed) to zero,
  optional global gradient-norm clipping, plain cross-entropy, shuffled batches that drop the last
  partial batch of each epoch unless the caller supplies each epoch's batches.
* :func:`augment`: random horizontal flip (p = 0.5) and a random shift of up to :data:`AUGMENT_SHIFT`
  pixels (a crop of the zero-padded image), on the dataset's own images before any resizing.
* :func:`state_dict_sha256`: a hash that names a state dict's weights independently of the file
  they are stored in.
* :func:`median_latency_ms`: median wall time of warm calls.

Imports torch; imported only by the teacher runners.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from semcom_sim.data.base import seeded_rng
from semcom_sim.io import atomic_path
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


def _shuffled_batches(n: int, batch: int) -> Callable[[np.random.Generator], list[torch.Tensor]]:
    """One epoch's batches: a permutation of the ``n`` rows cut into ``n // batch`` full batches."""
    def draw(rng: np.random.Generator) -> list[torch.Tensor]:
        order = torch.from_numpy(rng.permutation(n))
        return [order[i * batch:(i + 1) * batch] for i in range(n // batch)]

    return draw


def finetune_loop(parameters: Iterable[nn.Parameter], modules: Sequence[nn.Module],
                  batch_logits: Callable[[torch.Tensor, torch.Generator], torch.Tensor], y_train: torch.Tensor, *,
                  name: str, header: str, epochs: int, batch_size: int, lr: float, weight_decay: float, seed: int,
                  shuffle_stream: int, max_steps: int | None, device: torch.device,
                  log: Callable[[str], Any], head_parameters: Iterable[nn.Parameter] = (),
                  head_lr_multiplier: float = 1.0, schedule: str = "cosine",
                  warmup_fraction: float = WARMUP_FRACTION, grad_clip_norm: float | None = None,
                  epoch_batches: Callable[[np.random.Generator], Sequence[Any]] | None = None,
                  fused: bool | None = None, progress: str = "run",
                  lr_setting: str = "the learning rate", state_path: str | Path | None = None,
                  state_key: str = "", state_every_steps: int = 200) -> dict[str, Any]:
    """Trains ``parameters`` (and ``head_parameters``) with cross-entropy against ``y_train`` (see the
    module docstring).

    :param modules: put in training mode for the loop (dropout, batch norm); left so afterwards.
    :param batch_logits: ``(rows, generator) -> logits [B, C]`` on ``device`` for the training-set rows
        ``rows`` (int64 [B]); ``generator`` draws the augmentation.
    :param name: what diverged, in the error. :param header: the first log line, before the schedule.
    :param shuffle_stream: the :func:`~semcom_sim.data.base.seeded_rng` stream of the batch order.
    :param max_steps: stop after this many optimizer steps (the schedule spans them); ``None``: all epochs.
    :param head_parameters: trained at ``head_lr_multiplier`` times ``lr`` (in AdamW groups of their own,
        after those of ``parameters``), with the same weight-decay rule.
    :param schedule: after the warm-up, ``"cosine"`` (cosine decay to zero at the last step) or
        ``"linear"`` (linear decay to zero at the last step).
    :param warmup_fraction: the linear warm-up spans this fraction of the steps (rounded, at least one
        step when > 0), in ``[0, 1)``.
    :param grad_clip_norm: clip the gradients of all trained parameters to this global L2 norm before
        each step; ``None``: no clipping.
    :param epoch_batches: ``rng -> one epoch's batches`` (each a sequence of training-set rows), called at
        the start of every epoch with the batch-order generator; every epoch must give as many batches
        as the first. ``None``: a permutation cut into full batches of ``batch_size``, the last partial
        batch dropped.
    :param fused: passed to :class:`torch.optim.AdamW` (``True``: one kernel over all tensors, much
        faster on the CPU for many small tensors; ``None``: torch's default implementation).
    :param progress: the loss and accuracy on each progress line: ``"run"``: means since the first
        step; ``"window"``: means since the previous progress line (the ``loss_curve`` points).
    :param lr_setting: what to lower, in the divergence error.
    :param state_path: where the loop keeps its full state (``torch.save``, atomically) at every epoch's end and
        every ``state_every_steps`` steps: the modules' state dicts, the trained parameters, the optimiser, the
        schedule, the augmentation, dropout and batch-order generators, the epoch's batches, the position and
        the running sums. If the file exists, the loop resumes from it (one log line) and ends as an
        uninterrupted run would; a state of another run (``state_key``, the settings, the parameter shapes or
        the torch version differ) is refused with a :class:`TeacherError`. The caller removes the file once
        its result is saved.
    :return: ``steps``, ``epochs`` (completed, fractional if ``max_steps`` stopped early), ``batch_size``,
        ``steps_per_second``, ``schedule``, ``train_seconds``, ``train_cpu_seconds`` (process CPU time of
        the loop), ``final_train_loss`` (mean over the run), ``last_epoch_train_loss`` (mean over the
        steps of the last epoch run), ``loss_curve`` (``[step, mean loss since the previous point]`` at
        every progress line), ``num_train``.
    :raises ValueError: a bad option, or ``epoch_batches`` gave no batch or a changing number of them.
    :raises TeacherError: the loss is not finite (lower the learning rate).
    """
    if schedule not in ("cosine", "linear"):
        raise ValueError(f"schedule must be 'cosine' or 'linear', got {schedule!r}")
    if progress not in ("run", "window"):
        raise ValueError(f"progress must be 'run' or 'window', got {progress!r}")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
    if not (math.isfinite(head_lr_multiplier) and head_lr_multiplier > 0):
        raise ValueError(f"head_lr_multiplier must be > 0, got {head_lr_multiplier!r}")
    if grad_clip_norm is not None and not (math.isfinite(grad_clip_norm) and grad_clip_norm > 0):
        raise ValueError(f"grad_clip_norm must be None or > 0, got {grad_clip_norm!r}")
    generator = torch.Generator().manual_seed(seed)
    rng = seeded_rng(seed, shuffle_stream)
    n = int(y_train.shape[0])
    batch = min(int(batch_size), n)
    draw = _shuffled_batches(n, batch) if epoch_batches is None else epoch_batches
    first_batches = list(draw(rng))  # the first epoch's: the first draw of rng, as at the start of epoch 1
    steps_per_epoch = len(first_batches)
    if steps_per_epoch == 0:
        raise ValueError("epoch_batches gave no batch")
    total = epochs * steps_per_epoch if max_steps is None else min(epochs * steps_per_epoch, int(max_steps))

    def groups(params: Iterable[nn.Parameter], **extra: Any) -> list[dict[str, Any]]:
        params = list(params)
        return [{"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay, **extra},
                {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, **extra}]

    param_groups = groups(parameters)
    head_parameters = list(head_parameters)
    head_lr = lr * head_lr_multiplier
    if head_parameters:
        param_groups += [g for g in groups(head_parameters, lr=head_lr) if g["params"]]
    trained = [p for g in param_groups for p in g["params"]]
    optimizer = torch.optim.AdamW(param_groups, lr=lr, fused=fused)
    warmup = max(1, round(warmup_fraction * total)) if warmup_fraction > 0 else 0

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "linear":
            return max(0.0, (total - step) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    log(f"{header}, {total} steps of batch {batch} ({steps_per_epoch} per epoch), AdamW lr {lr:g}"
        + (f" (head {head_lr:g})" if head_parameters else "")
        + (f", warm-up {warmup} steps then linear decay" if schedule == "linear" else "")
        + ("" if grad_clip_norm is None else f", clip {grad_clip_norm:g}") + f", device {device}")
    log_every = max(1, min(50, total // 20))
    sums = {"step": 0, "loss_sum": 0.0, "correct": 0, "seen": 0, "window_loss": 0.0, "window_correct": 0,
            "window_seen": 0, "epoch_loss": 0.0, "epoch_seen": 0, "loss_curve": [], "seconds": 0.0, "cpu_seconds": 0.0}
    state_path = Path(state_path) if state_path is not None else None
    key = json.dumps({"key": state_key, "name": name, "epochs": epochs, "batch": batch, "lr": lr, "weight_decay":
                      weight_decay, "seed": seed, "total": total, "steps_per_epoch": steps_per_epoch, "n": n,
                      "head_lr": head_lr, "schedule": schedule, "warmup": warmup, "clip": grad_clip_norm,
                      "shapes": [list(p.shape) for p in trained], "torch": str(torch.__version__)}, sort_keys=True)
    first_epoch, first_batch = 0, 0
    if state_path is not None and state_path.is_file():
        saved = torch.load(state_path, weights_only=False)
        if saved.get("key") != key:
            raise TeacherError(f"{state_path}: a fine-tuning state of another run (other settings, data or torch "
                               "version); delete it to fine-tune from the start")
        for module, module_state in zip(modules, saved["modules"], strict=True):
            module.load_state_dict(module_state)
        with torch.no_grad():
            for parameter, value in zip(trained, saved["trained"], strict=True):
                parameter.copy_(value)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        rng.bit_generator.state = saved["rng"]
        first_epoch, first_batch = saved["epoch"], saved["batch"]
        first_batches = saved["batches"] if saved["batches"] is not None else list(draw(rng))
        sums = saved["sums"]
        log(f"  resuming from {state_path} at step {sums['step']}/{total}")

    def save_state(epoch: int, next_batch: int, batches: list) -> None:
        if state_path is None:
            return
        state = {"key": key, "modules": [m.state_dict() for m in modules],
                 "trained": [p.detach().clone() for p in trained], "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                 "torch_rng": torch.get_rng_state(), "rng": rng.bit_generator.state, "epoch": epoch,
                 "batch": next_batch, "batches": batches,
                 "sums": {**sums, "seconds": sums["seconds"] + time.perf_counter() - t0,
                          "cpu_seconds": sums["cpu_seconds"] + time.process_time() - cpu0}}
        with atomic_path(state_path) as tmp:
            torch.save(state, tmp)

    step, loss_sum, correct, seen = sums["step"], sums["loss_sum"], sums["correct"], sums["seen"]
    window_loss, window_correct, window_seen = sums["window_loss"], sums["window_correct"], sums["window_seen"]
    epoch_loss, epoch_seen = sums["epoch_loss"], sums["epoch_seen"]
    loss_curve: list[list[float]] = sums["loss_curve"]
    for module in modules:
        module.train()
    t0, cpu0 = time.perf_counter() - sums["seconds"], time.process_time() - sums["cpu_seconds"]
    sums["seconds"] = sums["cpu_seconds"] = 0.0
    for epoch in range(first_epoch, epochs):
        batches = first_batches if epoch == first_epoch else list(draw(rng))
        if len(batches) != steps_per_epoch:
            raise ValueError(f"epoch_batches gave {len(batches)} batches in epoch {epoch + 1}, "
                             f"{steps_per_epoch} in the first")
        if not (epoch == first_epoch and first_batch):
            epoch_loss, epoch_seen = 0.0, 0
        for position in range(first_batch if epoch == first_epoch else 0, len(batches)):
            rows = batches[position]
            if step >= total:
                break
            idx = torch.as_tensor(rows, dtype=torch.long)
            logits = batch_logits(idx, generator)
            y = y_train[idx].to(device)
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise TeacherError(f"fine-tuning {name} diverged at step {step + 1} (loss {loss.item()}); "
                                   f"lower {lr_setting}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(trained, grad_clip_norm)
            optimizer.step()
            scheduler.step()
            step += 1
            value = loss.item() * len(idx)
            hits = int((logits.argmax(-1) == y).sum())
            loss_sum += value
            window_loss += value
            epoch_loss += value
            correct += hits
            window_correct += hits
            seen += len(idx)
            window_seen += len(idx)
            epoch_seen += len(idx)
            if step % log_every == 0 or step == total:
                elapsed = time.perf_counter() - t0
                loss_curve.append([step, window_loss / window_seen])
                if progress == "run":
                    means = f"train loss {loss_sum / seen:.4f}, train acc {correct / seen:.4f}"
                else:
                    means = f"loss {window_loss / window_seen:.4f}, acc {window_correct / window_seen:.4f}"
                log(f"  epoch {epoch + 1} step {step}/{total}: {means}, lr {scheduler.get_last_lr()[0]:.2e}, "
                    f"{step / elapsed:.2f} steps/s, eta {(total - step) * elapsed / step:.0f} s")
                window_loss, window_correct, window_seen = 0.0, 0, 0
            if state_every_steps and step % state_every_steps == 0 and position + 1 < len(batches) and step < total:
                sums.update(step=step, loss_sum=loss_sum, correct=correct, seen=seen, window_loss=window_loss,
                            window_correct=window_correct, window_seen=window_seen, epoch_loss=epoch_loss,
                            epoch_seen=epoch_seen, loss_curve=loss_curve)
                save_state(epoch, position + 1, batches)
        if step >= total:
            break
        sums.update(step=step, loss_sum=loss_sum, correct=correct, seen=seen, window_loss=window_loss,
                    window_correct=window_correct, window_seen=window_seen, epoch_loss=epoch_loss,
                    epoch_seen=epoch_seen, loss_curve=loss_curve)
        if epoch + 1 < epochs:
            save_state(epoch + 1, 0, None)  # the next epoch draws its batches from the saved generator
    train_seconds = time.perf_counter() - t0
    train_cpu_seconds = time.process_time() - cpu0
    decay = "cosine to 0" if schedule == "cosine" else f"linear decay to 0 at step {total}"
    return {"steps": step, "epochs": round(step / steps_per_epoch, 4), "batch_size": batch,
            "steps_per_second": step / train_seconds if train_seconds > 0 else float("nan"),
            "schedule": f"linear warm-up {warmup} steps, {decay}", "train_seconds": train_seconds,
            "train_cpu_seconds": train_cpu_seconds, "final_train_loss": loss_sum / max(seen, 1),
            "last_epoch_train_loss": epoch_loss / max(epoch_seen, 1), "loss_curve": loss_curve, "num_train": n}
