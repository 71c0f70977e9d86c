"""Cost of a teacher: size, FLOPs and latency (torch side; the student side is :mod:`semcom_sim.cost`).

    from semcom_sim.teacher.cost import teacher_cost, torch_cost
    from semcom_sim.teacher.efficientnet import EfficientNetTeacher

    teacher = EfficientNetTeacher.load("teachers/efficientnet-lite0-fashion-mnist.teacher")
    teacher_cost(teacher, x_test[0]).as_row()      # one [28, 28, 1] image
    teacher_cost(minilm_teacher, "a small dog")    # one text

Conventions (a :class:`~semcom_sim.cost.ModelCost` per component):

* **parameters**: ``module.parameters()`` only (each shared tensor once); buffers (batch-norm running
  statistics, position ids) are not counted. **bytes**: those parameters' ``numel * element_size``.
  (The student side counts Keras's non-trainable weights, i.e. its batch-norm moving statistics,
  as parameters: 2 values per normalised channel, a few hundred for the students here.)
* **FLOPs**: ``torch.utils.flop_counter.FlopCounterMode`` over one call at batch 1. It counts only
  matrix products and convolutions, 2 FLOPs per multiply-add: ``mm``/``addmm``/``bmm``/``baddbmm``
  (``2 M K N``; the bias of ``addmm`` is **not** counted), convolutions (``2 * out elements *
  c_in / groups * kernel area``, no bias) and scaled-dot-product attention (``2 * 2 * heads * L_q *
  L_k * d``). PyTorch registers no formula for the CPU attention kernel
  (``aten._scaled_dot_product_flash_attention_for_cpu``); :data:`EXTRA_FLOP_FORMULAS` adds the same
  formula as for the other attention kernels. Element-wise work (activations, normalisation,
  pooling, softmax, resizing) counts zero.
* **latency**: wall time of one batch-1 call under ``torch.inference_mode()`` (the module in eval
  mode), CUDA synchronised after each call; median and 90th percentile of ``runs`` calls after
  ``warmup``, in ms, on the module's device with torch's current thread count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from semcom_sim.cost import ModelCost, cpu_name, latency_ms

__all__ = ["EXTRA_FLOP_FORMULAS", "torch_device_name", "torch_flops", "torch_cost", "teacher_cost"]


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# FlopCounterMode ``custom_mapping``: op -> formula over the argument shapes.
EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {}
if hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu"):
    EXTRA_FLOP_FORMULAS[torch.ops.aten._scaled_dot_product_flash_attention_for_cpu] = _cpu_sdpa_flops


def torch_device_name(device: str | torch.device | None = None) -> str:
    """``"GPU: <name>"`` for a CUDA device, else ``"CPU: <model name> (<torch threads> threads)"``.

    :param device: ``None``: CUDA if available (where the teachers load by default), else the CPU.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type != "cpu":
        return device.type
    return f"CPU: {cpu_name()} ({torch.get_num_threads()} threads)"


def _module_device(module: torch.nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def torch_flops(call: Callable[[], Any]) -> int:
    """FLOPs of ``call()`` as counted by ``FlopCounterMode`` (plus :data:`EXTRA_FLOP_FORMULAS`), no grad."""
    with torch.inference_mode(), FlopCounterMode(display=False, custom_mapping=EXTRA_FLOP_FORMULAS) as counter:
        call()
    return int(counter.get_total_flops())


def torch_cost(module: torch.nn.Module, example_input: Any, component: str, runs: int = 50, warmup: int = 10,
               forward: Callable[[Any], Any] | None = None) -> ModelCost:
    """Size, FLOPs and batch-1 latency of a torch module (see the module docstring for what counts).

    :param module: the network (its parameters are counted; it is put in eval mode while measured
        and restored afterwards).
    :param example_input: one sample, batch 1 (a tensor or array must have a leading dimension of 1);
        a tensor is moved to the module's device.
    :param component: the name in the record.
    :param forward: ``forward(example_input)`` replaces ``module(example_input)`` (both for the FLOPs
        and the latency): preprocessing, several outputs, a wrapper's own inference path.
    """
    shape = getattr(example_input, "shape", None)
    if isinstance(example_input, (torch.Tensor, np.ndarray)) and (len(shape) == 0 or shape[0] != 1):
        raise ValueError(f"example_input must hold one sample (batch 1), got shape {tuple(shape)}")
    device = _module_device(module)
    if isinstance(example_input, torch.Tensor):
        example_input = example_input.to(device)
    run = forward if forward is not None else module
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)

    def call():
        out = run(example_input)
        sync()
        return out

    params = {id(p): p for p in module.parameters()}.values()
    parameters = sum(p.numel() for p in params)
    size = sum(p.numel() * p.element_size() for p in params)
    was_training = module.training
    module.eval()
    try:
        flops = torch_flops(call)
        with torch.inference_mode():
            call()  # one-off costs (allocations, lazy initialisation): not a warm-up sample
            median, p90 = latency_ms(call, runs=runs, warmup=warmup)
    finally:
        module.train(was_training)
    return ModelCost(component=component, parameters=int(parameters), bytes=int(size), flops_per_sample=flops,
                     latency_ms=median, latency_p90_ms=p90, device=torch_device_name(device))


def teacher_cost(teacher: Any, sample: Any, runs: int = 50, warmup: int = 10, *,
                 component: str | None = None) -> ModelCost:
    """Size, FLOPs and batch-1 latency of a prepared teacher on one sample, through its ``predict``.

    * :class:`~semcom_sim.teacher.efficientnet.EfficientNetTeacher`: ``sample`` is one image
      ``[28, 28, 1]`` (or ``[1, 28, 28, 1]``) float in [0, 1]. The latency is ``teacher.predict``
      of that image: preprocessing (resize to the teacher's resolution, normalise) + network +
      softmax. The FLOPs are the network's at its resolution (the resize counts zero).
    * :class:`~semcom_sim.teacher.minilm.MiniLMTeacher`: ``sample`` is one text. The latency is
      ``teacher.predict([text])``: tokeniser + all-MiniLM-L6-v2 + mean pooling + the linear head.
      The FLOPs are the transformer's for that text's token count plus the head's ``2 * 384 * C``
      (no bias, as ``addmm`` is counted); parameters and bytes include the head (float32).
    * :class:`~semcom_sim.teacher.hub.HubTeacher` (a Hugging Face teacher, ``teacher.kind``) with a
      head: ``sample`` is one image ``[H, W, C]`` (``[H, W]`` or ``[1, H, W, C]``; grey or RGB, float in [0, 1] or
      uint8) or one text. The latency is ``teacher.predict`` of that sample: the model's processor
      (resize, normalise) or tokenizer + network + head + softmax. The FLOPs are counted like the
      others' (matrix products, convolutions and attention of the network and the head at the model's
      own input size; the processor counts zero); parameters and bytes include the head.
    * A :class:`~semcom_sim.teacher.stage.LoadedTeacher`: its model, named as the scenario names it.

    :param component: the record's name; ``None``: the teacher's identity name.
    """
    cost = getattr(teacher, "cost", None)
    if not callable(cost):
        raise TypeError(f"teacher_cost measures a prepared teacher (EfficientNetTeacher, MiniLMTeacher, HubTeacher or "
                        f"LoadedTeacher: each has cost(...)), got {type(teacher).__name__}")
    return cost(sample, runs=runs, warmup=warmup, component=component)


def hub_cost(teacher: Any, sample: Any, name: str, runs: int, warmup: int) -> ModelCost:
    """:func:`teacher_cost` of a :class:`~semcom_sim.teacher.hub.HubTeacher`."""
    if teacher.kind == "text-encoder":
        if not isinstance(sample, str):
            raise TypeError(f"a text encoder's sample is one text (str), got {type(sample).__name__}")
        return torch_cost(teacher.modules, sample, name, runs=runs, warmup=warmup,
                          forward=lambda text: teacher.predict([text], batch_size=1))
    image = _one_image(np.asarray(sample), sample, grey=True)
    return torch_cost(teacher.modules, image, name, runs=runs, warmup=warmup,
                      forward=lambda x: teacher.predict(x, batch_size=1))


def efficientnet_cost(teacher: Any, sample: Any, name: str, runs: int, warmup: int) -> ModelCost:
    """:func:`teacher_cost` of an :class:`~semcom_sim.teacher.efficientnet.EfficientNetTeacher`."""
    image = _one_image(np.asarray(sample, dtype=np.float32), sample, grey=False)
    return torch_cost(teacher.model, image, name, runs=runs, warmup=warmup,
                      forward=lambda x: teacher.predict(x, batch_size=1))


def _one_image(image: np.ndarray, sample: Any, grey: bool) -> np.ndarray:
    """``image`` as a batch of one ``[1, H, W, C]`` (``grey``: an ``[H, W]`` image gets its channel axis); any
    other shape is a one-line ``ValueError``."""
    image = image[..., None] if grey and image.ndim == 2 else image
    image = image[None] if image.ndim == 3 else image
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"sample must be one image [H, W, C], got shape {np.shape(sample)}")
    return image


def minilm_cost(teacher: Any, sample: Any, name: str, runs: int, warmup: int) -> ModelCost:
    """:func:`teacher_cost` of a :class:`~semcom_sim.teacher.minilm.MiniLMTeacher`: the encoder's cost plus
    its linear head's parameters, bytes and ``2 * 384 * C`` FLOPs."""
    if not isinstance(sample, str):
        raise TypeError(f"a MiniLM teacher's sample is one text (str), got {type(sample).__name__}")
    encoder = teacher._checked_encoder()
    cost = torch_cost(encoder.model, sample, name, runs=runs, warmup=warmup,
                      forward=lambda text: teacher.predict([text], batch_size=1))
    return dataclasses.replace(
        cost, parameters=cost.parameters + int(teacher.weight.size + teacher.bias.size),
        bytes=cost.bytes + int(teacher.weight.nbytes + teacher.bias.nbytes),
        flops_per_sample=cost.flops_per_sample + 2 * int(teacher.weight.size))
