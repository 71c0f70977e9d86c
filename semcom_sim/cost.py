"""Cost of a model: size, FLOPs and latency (the student, TensorFlow side).

    from semcom_sim.cost import count_flops, student_cost

    cost = student_cost(build_model(scenario, 10), (28, 28, 1))
    cost.as_row()  # {"component": "student", "parameters": ..., "flops_per_sample": ..., "latency_ms": ...}

The teacher side (torch) is :mod:`semcom_sim.teacher.cost`; both return a :class:`ModelCost`.

Conventions, documented here once:

* **parameters**: scalars in the weights (trainable and non-trainable: the batch-norm moving mean
  and variance count); **bytes**: the sum over weights of ``size * itemsize`` (float32: 4 bytes each).
* **FLOPs** (:func:`count_flops`): TensorFlow's graph profiler (``tf.compat.v1`` tfprof,
  ``ProfileOptionBuilder.float_operation()``) over the graph of one call at batch 1. It sums the
  FLOP statistics TensorFlow registers per op type (``tensorflow/python/profiler/internal/
  flops_registry.py`` and the ``nn_ops`` / ``math_ops`` registrations):

  - ``MatMul`` / ``BatchMatMul*``: ``2 * M * K * N`` (a multiply-add is 2 FLOPs), so a
    ``Dense(in -> out)`` is ``2 * in * out`` plus ``out`` for its bias (``BiasAdd``/``AddV2``, 1 per element);
  - ``Conv2D``: ``2 * k_h * k_w * c_in * c_out * H_out * W_out``; ``DepthwiseConv2dNative``,
    ``Conv3D`` likewise (a ``Conv1D`` is a ``Conv2D`` of height 1 in TensorFlow);
  - element-wise ``Add``/``AddV2``/``Sub``/``Mul``/``RealDiv``/``Maximum``/``Minimum``/``Pow``/
    comparisons/``Neg``/``Square``/``Reciprocal``/``Log``: 1 per output element (``Rsqrt`` 2,
    ``SquaredDifference`` 2, ``Softmax`` 5); reductions ``Mean``/``Sum``/``ArgMax``: 1 per input
    element; ``AvgPool``/``MaxPool``: window area per output element.

  Ops without a registered statistic count **zero**: activations (``Relu``, ``Relu6``,
  ``Sigmoid``, ``Tanh``), ``Exp``, ``Sqrt``, ``Max`` (reduction), ``FusedBatchNorm*``,
  ``GatherV2`` (embedding look-up), ``ConcatV2``, reshapes and casts. Keras's inference batch norm
  and layer norm are emitted as ``Rsqrt``/``Mul``/``AddV2``/``Sub``/``Mean``/``SquaredDifference``
  and a clip as ``Minimum``/``Maximum``: those are counted. These
  element-wise terms are what separate this count from torch's ``FlopCounterMode`` (which counts
  only matrix products, convolutions and attention; no biases): :func:`flops_by_op` gives the
  breakdown, and :data:`MATMUL_CONV_OPS` selects the part comparable with the torch count.
* **latency**: wall time of one call at batch 1 of a ``tf.function`` (no XLA), the output fetched
  to the host; after ``warmup`` untimed calls (and the trace), the median and 90th percentile
  (linear interpolation) of ``runs`` timed ones, in milliseconds, on the device TensorFlow places it on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from keras import ops
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
from tensorflow.python.profiler import model_analyzer, option_builder

__all__ = ["ModelCost", "MATMUL_CONV_OPS", "cpu_name", "device_name", "count_flops", "flops_by_op",
           "latency_ms", "student_cost", "student_forward"]

# The op types whose FLOPs are matrix products or convolutions (what torch's FlopCounterMode counts).
MATMUL_CONV_OPS = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv3D",
                             "DepthwiseConv2dNative"})
_SNR_DB = 10.0  # the constant SNR (dB) fed to the adaptive module and the decoder


@dataclasses.dataclass(frozen=True)
class ModelCost:
    """Size, compute and latency of one component, for one sample.

    :param component: what was measured (``"student"``, a teacher's name, ...).
    :param parameters: scalars in the weights (see the module docstring for what counts).
    :param bytes: sum over weights of ``size * itemsize``.
    :param flops_per_sample: FLOPs of one sample (a multiply-add is 2 FLOPs).
    :param latency_ms: median wall time of one batch-1 call (warm), ms.
    :param latency_p90_ms: its 90th percentile, ms.
    :param device: where it ran: ``"CPU: <model> (<n> threads)"`` or ``"GPU: <name>"``.
    """

    component: str
    parameters: int
    bytes: int
    flops_per_sample: int
    latency_ms: float
    latency_p90_ms: float
    device: str

    def as_row(self) -> dict[str, Any]:
        """The fields as a flat dict (a table row)."""
        return dataclasses.asdict(self)


def cpu_name() -> str:
    """The CPU's model name (``model name`` in ``/proc/cpuinfo``; else :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def device_name() -> str:
    """Where TensorFlow runs a computation by default: ``"GPU: <name>"`` when it sees a GPU (its first
    one, where it places ops by default), else ``"CPU: <model name> (<n> threads)"`` (its intra-op
    threads). The teacher's device is :func:`semcom_sim.teacher.cost.torch_device_name`.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name') or gpus[0].name}"
    threads = tf.config.threading.get_intra_op_parallelism_threads() or _cpu_threads()
    return f"CPU: {cpu_name()} ({threads} threads)"


def _concrete(fn: Callable, input_signature: Sequence[Any]):
    if hasattr(fn, "structured_input_signature") and hasattr(fn, "graph"):  # already a ConcreteFunction
        return fn
    if not hasattr(fn, "get_concrete_function"):
        fn = tf.function(fn, jit_compile=False)
    return fn.get_concrete_function(*input_signature)


def _profiled_graph(concrete):
    """The function's graph with nested function calls inlined (control flow lowered), so the
    profiler sees every op; variables become constants (the profiler ignores reads)."""
    calls = {"PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf",
             "Case", "StatelessCase"}
    if not any(op.type in calls for op in concrete.graph.get_operations()):
        return concrete.graph
    frozen = convert_variables_to_constants_v2(concrete)
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
    return graph


def flops_by_op(fn: Callable, input_signature: Sequence[Any]) -> dict[str, int]:
    """FLOPs of one call of ``fn`` per op type, from TensorFlow's graph profiler (see the module docstring).

    :param fn: a Python callable (wrapped in a ``tf.function``), a ``tf.function`` or a concrete function.
    :param input_signature: ``tf.TensorSpec`` s of the positional inputs, fully defined (batch 1 for
        per-sample FLOPs). Ignored for a concrete function.
    :return: ``{op type: FLOPs}`` for the op types with non-zero FLOPs.
    """
    for spec in input_signature:
        if isinstance(spec, tf.TensorSpec) and not spec.shape.is_fully_defined():
            raise ValueError(f"count_flops needs fully defined input shapes (batch 1), got {spec}")
    graph = _profiled_graph(_concrete(fn, input_signature))
    builder = option_builder.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # tfprof's deprecation warnings (v1 graph utilities)
    try:
        info = model_analyzer.profile(graph=graph, cmd="op", options=options)
    finally:
        tf_logger.setLevel(level)
    # the "op" view is a chain (each op type a child of the previous one): its own FLOPs are float_ops
    counts: dict[str, int] = {}
    stack = list(info.children)
    while stack:
        node = stack.pop()
        if node.float_ops:
            counts[node.name] = counts.get(node.name, 0) + int(node.float_ops)
        stack.extend(node.children)
    if sum(counts.values()) != int(info.total_float_ops):
        raise RuntimeError(f"TensorFlow's profiler returned an inconsistent op breakdown ({sum(counts.values())} "
                           f"FLOPs by op type, {info.total_float_ops} in total)")
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def count_flops(fn: Callable, input_signature: Sequence[Any]) -> int:
    """FLOPs of one call of ``fn`` (TensorFlow's graph profiler; see the module docstring).

    E.g. ``count_flops(keras.layers.Dense(out), [tf.TensorSpec([1, in])]) == 2 * in * out + out``.
    """
    return int(sum(flops_by_op(fn, input_signature).values()))


def latency_ms(call: Callable[[], Any], runs: int = 50, warmup: int = 10) -> tuple[float, float]:
    """(median, 90th percentile) wall time in ms of ``call()`` over ``runs`` calls after ``warmup``."""
    if int(runs) < 1 or int(warmup) < 0:
        raise ValueError(f"need runs >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    times = []
    for i in range(int(warmup) + int(runs)):
        t0 = time.perf_counter()
        call()
        if i >= warmup:
            times.append(1000.0 * (time.perf_counter() - t0))
    return float(statistics.median(times)), float(np.percentile(times, 90))


def _components(model) -> list:
    """The parts of the transceiver that the cost counts: all but the training-only feature head."""
    return [layer for name, layer in model.parts().items() if name != "feature_head"]


def student_forward(model, snr_db: float = _SNR_DB) -> Callable:
    """The transceiver's inference path without the PHY, through its own parts: ``inputs -> logits``.

    ``model.encoder(inputs, training=False)`` -> mean ``mu`` (no sampling) ->
    ``model.transmit_features(mu, snr)`` (the adaptive module, a channel codec's transmitter half, or the
    digital link's quantiser) -> (a channel codec's receiver half) -> ``model.classify(sent, snr, snr)``:
    the received features are the transmitted ones and every SNR input is the constant ``snr_db`` (a
    digital decoder sees zeros, as in its own call).
    """

    def forward(inputs):
        mu, _ = model.encoder(inputs, training=False)
        batch = ops.shape(mu)[0]
        sent = model.transmit_features(mu, ops.full((batch, 1), snr_db, dtype="float32"))
        snr = ops.full((batch,), snr_db, dtype="float32")
        if model.channel_decoder is not None:  # a channel codec: its receiver half, at full length
            sent = model.channel_decoder(sent, ops.stack([snr, snr], axis=-1))
        return model.classify(sent, snr, snr)

    return forward


def _example(input_shape: Sequence[int], input_dtype: str) -> np.ndarray:
    shape = (1,) + tuple(int(d) for d in input_shape)
    if np.issubdtype(np.dtype(input_dtype), np.integer):
        # token ids: all positions hold id 1 (0 is padding), a valid id for any vocabulary of >= 2
        return np.ones(shape, dtype=input_dtype)
    return np.random.default_rng(0).uniform(0.0, 1.0, shape).astype(input_dtype)


def student_cost(model, input_shape: Sequence[int], input_dtype: str = "float32", runs: int = 50,
                 warmup: int = 10, *, component: str = "student", example: np.ndarray | None = None) -> ModelCost:
    """Size, FLOPs and batch-1 latency of a student's encoder + adaptive module + decoder (no PHY).

    :param model: a built :class:`~semcom_sim.system.SemanticLink` (its ``parts``, ``encoder``,
        ``transmit_features`` and ``classify``).
    :param input_shape: one sample's shape: ``(28, 28, 1)`` for images, ``(max_len,)`` for token ids.
    :param input_dtype: ``"float32"`` for images (uniform [0, 1) inputs), ``"int32"`` for token ids
        (all ones).
    :param example: a batch-1 input to use instead (shape ``(1, *input_shape)``).
    :return: parameters and bytes of the encoder, adaptive module and decoder weights (not the
        sampler, not the optional ``feature_head``); FLOPs and latency of :func:`student_forward`.
    """
    x = _example(input_shape, input_dtype) if example is None else np.asarray(example, dtype=input_dtype)
    if x.shape != (1,) + tuple(int(d) for d in input_shape):
        raise ValueError(f"example must have shape (1, *input_shape) = {(1, *input_shape)}, got {x.shape}")
    forward = student_forward(model)
    x = tf.constant(x)
    forward(x)  # eager: builds any layer that is not built yet
    weights = {id(w): w for layer in _components(model) for w in layer.weights}.values()
    parameters = sum(int(np.prod(w.shape)) for w in weights)
    size = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights)

    fn = tf.function(forward, jit_compile=False)
    concrete = fn.get_concrete_function(tf.TensorSpec(x.shape, x.dtype))
    flops = count_flops(concrete, ())
    concrete(x)  # the first call of a new function pays one-off costs: not a warm-up sample
    median, p90 = latency_ms(lambda: concrete(x).numpy(), runs=runs, warmup=warmup)
    return ModelCost(component=component, parameters=int(parameters), bytes=int(size), flops_per_sample=flops,
                     latency_ms=median, latency_p90_ms=p90, device=device_name())
