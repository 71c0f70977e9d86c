"""The teachers' shared fine-tuning loop (:func:`semcom_sim.teacher.training.finetune_loop`) on a tiny
two-layer network: the head's learning rate, the schedules, gradient clipping, caller-supplied batches
and the windowed loss curve."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcom_sim.teacher.runner_base import TeacherError  # noqa: E402
from semcom_sim.teacher.training import finetune_loop  # noqa: E402

N, D, H, C = 24, 4, 8, 3


def _net(seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Linear, torch.Tensor, torch.Tensor]:
    """A body (linear + tanh), a linear head, inputs [N, D] and labels [N]."""
    torch.manual_seed(seed)
    body = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Tanh())
    head = torch.nn.Linear(H, C)
    x = torch.randn(N, D)
    y = torch.randint(0, C, (N,))
    return body, head, x, y


def _run(body, head, x, y, *, log=None, with_head=True, **options):
    def batch_logits(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return head(body(x[rows]))

    settings = dict(name="tiny", header="tiny", epochs=1, batch_size=6, lr=1e-2, weight_decay=0.0, seed=0,
                    shuffle_stream=1, max_steps=None, device=torch.device("cpu"),
                    log=log if log is not None else (lambda s: None))
    settings.update(options)
    if with_head:
        return finetune_loop(body.parameters(), [body, head], batch_logits, y,
                             head_parameters=head.parameters(), **settings)
    return finetune_loop([*body.parameters(), *head.parameters()], [body, head], batch_logits, y, **settings)


def _copies(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("warmup_fraction, factor", [(0.0, 1.0), (0.5, 0.5)])
def test_the_head_learns_at_the_multiplier_times_the_learning_rate(warmup_fraction, factor):
    # Adam's first step moves each weight by lr * g / (|g| + eps): the largest move is that step's learning rate
    body, head, x, y = _net()
    snapshots: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []

    def batch_logits(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        snapshots.append((_copies(body), _copies(head)))  # the weights before this step
        return head(body(x[rows]))

    lr = 1e-2
    run = finetune_loop(body.parameters(), [body, head], batch_logits, y, name="tiny", header="tiny", epochs=1,
                        batch_size=6, lr=lr, weight_decay=0.0, seed=0, shuffle_stream=1, max_steps=None,
                        device=torch.device("cpu"), log=lambda s: None, head_parameters=head.parameters(),
                        head_lr_multiplier=3.0, schedule="linear", warmup_fraction=warmup_fraction)
    assert run["steps"] == 4
    (body0, head0), (body1, head1) = snapshots[:2]
    # a warm-up over half of the 4 steps: the first step runs at half the peak rate, the head's too
    body_move = max(float((b - a).abs().max()) for a, b in zip(body0, body1))
    head_move = max(float((b - a).abs().max()) for a, b in zip(head0, head1))
    assert body_move == pytest.approx(factor * lr, rel=1e-4)
    assert head_move == pytest.approx(factor * 3.0 * lr, rel=1e-4)


def _logged_lrs(lines: list[str]) -> list[float]:
    return [float(re.search(r"lr ([0-9.e+-]+),", line).group(1)) for line in lines if line.startswith("  epoch ")]


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_the_schedules_warm_up_then_decay_to_zero(schedule):
    body, head, x, y = _net()
    lines: list[str] = []
    lr, total, warmup = 1e-2, 8, 2  # 24 rows, batch 6: 4 steps per epoch, 2 epochs; warm-up 0.25 of 8 steps
    run = _run(body, head, x, y, lr=lr, epochs=2, schedule=schedule, warmup_fraction=0.25, log=lines.append)
    assert run["steps"] == total

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "linear":
            return (total - step) / (total - warmup)
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))

    # every step is logged (fewer than 20), with the rate the next step runs at
    assert _logged_lrs(lines) == [float(f"{lr * factor(s):.2e}") for s in range(1, total + 1)]
    assert _logged_lrs(lines)[-1] == 0.0
    decay = "linear decay to 0 at step 8" if schedule == "linear" else "cosine to 0"
    assert run["schedule"] == f"linear warm-up {warmup} steps, {decay}"
    assert "warm-up 2 steps then linear decay" in lines[0] if schedule == "linear" else "warm-up" not in lines[0]


def test_gradients_are_clipped_to_the_global_norm_over_body_and_head():
    # after the loop the last step's gradients (clipped in place before the update) are still on the weights
    def grad_norm(*modules) -> float:
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad)
                                                           for m in modules for p in m.parameters()])))

    body, head, x, y = _net()
    _run(body, head, x, y, max_steps=1)
    unclipped = grad_norm(body, head)
    assert unclipped > 0.1
    body, head, x, y = _net()
    lines: list[str] = []
    _run(body, head, x, y, max_steps=1, grad_clip_norm=0.05, log=lines.append)
    assert grad_norm(body, head) == pytest.approx(0.05, rel=1e-4)
    assert ", clip 0.05, " in lines[0]
    body, head, x, y = _net()
    _run(body, head, x, y, max_steps=1, grad_clip_norm=10 * unclipped)  # below the limit: untouched
    assert grad_norm(body, head) == pytest.approx(unclipped, rel=1e-6)


def test_caller_supplied_batches_keep_a_partial_batch_and_follow_the_seeded_generator():
    body, head, x, y = _net()
    seen: list[list[int]] = []
    drawn: list[list[int]] = []

    def epoch_batches(rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(10)
        drawn.append(order.tolist())
        return [order[:4], order[4:8], order[8:]]  # the last one partial

    def batch_logits(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        assert rows.dtype == torch.long
        seen.append(rows.tolist())
        return head(body(x[rows]))

    run = finetune_loop(body.parameters(), [body, head], batch_logits, y, name="tiny", header="tiny", epochs=2,
                        batch_size=4, lr=1e-2, weight_decay=0.0, seed=5, shuffle_stream=9, max_steps=None,
                        device=torch.device("cpu"), log=lambda s: None, epoch_batches=epoch_batches)
    assert run["steps"] == 6 and run["epochs"] == 2.0 and len(drawn) == 2
    assert seen == [b for order in drawn for b in (order[:4], order[4:8], order[8:])]
    from semcom_sim.data.base import seeded_rng

    rng = seeded_rng(5, 9)
    assert drawn == [rng.permutation(10).tolist(), rng.permutation(10).tolist()]

    # the default: full batches only (24 rows, batch 5: 4 per epoch)
    assert _run(*_net(), batch_size=5)["steps"] == 4

    def changing(rng: np.random.Generator) -> list[np.ndarray]:
        changing.calls += 1
        return [np.arange(4)] * changing.calls

    changing.calls = 0
    with pytest.raises(ValueError, match="2 batches in epoch 2, 1 in the first"):
        _run(*_net(), epochs=2, epoch_batches=changing)


def test_the_window_loss_curve_and_the_last_epoch_loss():
    body, head, x, y = _net()
    lines: list[str] = []
    run = _run(body, head, x, y, epochs=3, progress="window", log=lines.append)
    curve = np.array(run["loss_curve"])
    assert curve[:, 0].tolist() == list(range(1, 13))  # every step logged: each point is one batch's loss
    progress = [line for line in lines if line.startswith("  epoch ")]
    assert [float(re.search(r": loss ([0-9.]+),", line).group(1)) for line in progress] == \
        [float(f"{v:.4f}") for v in curve[:, 1]]
    assert run["final_train_loss"] == pytest.approx(curve[:, 1].mean())  # equal batches
    assert run["last_epoch_train_loss"] == pytest.approx(curve[-4:, 1].mean())
    # "run": means since the first step on the progress lines; the curve is the same
    body, head, x, y = _net()
    lines = []
    again = _run(body, head, x, y, epochs=3, log=lines.append)
    assert again["loss_curve"] == run["loss_curve"]
    first = [line for line in lines if line.startswith("  epoch ")][1]
    assert f"train loss {curve[:2, 1].mean():.4f}" in first


def test_a_head_group_trains_as_one_parameter_list_at_multiplier_one():
    one, two = _net(), _net()
    _run(*one, epochs=2)
    _run(*two, epochs=2, with_head=False)
    for a, b in zip([*one[0].parameters(), *one[1].parameters()], [*two[0].parameters(), *two[1].parameters()]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    three = _net()
    _run(*three, epochs=2, fused=True)
    for a, b in zip(three[1].parameters(), one[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_divergence_and_bad_options_are_one_line_errors():
    body, head, x, y = _net()

    def nan_logits(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return head(body(x[rows])) * float("nan")

    with pytest.raises(TeacherError, match=r"fine-tuning tiny diverged at step 1 .*; lower teacher\.lr$"):
        finetune_loop(body.parameters(), [body], nan_logits, y, name="tiny", header="tiny", epochs=1, batch_size=6,
                      lr=1e-2, weight_decay=0.0, seed=0, shuffle_stream=1, max_steps=None,
                      device=torch.device("cpu"), log=lambda s: None, lr_setting="teacher.lr")
    for option, value in (("schedule", "step"), ("progress", "all"), ("warmup_fraction", 1.0),
                          ("head_lr_multiplier", 0.0), ("grad_clip_norm", -1.0)):
        with pytest.raises(ValueError, match=f"^{option} must") as err:
            _run(*_net(), **{option: value})
        assert "\n" not in str(err.value)
