"""XLA and the DARTS operations: one training step (forward + gradient) of each window operation of the
search space, with and without XLA, TensorFlow's layer against the shifted-view form of
``semcom_sim.semantic.darts`` that the searched encoders use.

    python -m benchmarks.xla_ops [--no-append]

Input [128, 14, 14, 32] float32 (a batch of the first searched cell's feature maps); milliseconds per
step, median of 20 after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks._common import append_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from semcom_sim.semantic.darts import depthwise_conv, max_pool

    x = tf.constant(np.random.default_rng(0).random((128, 14, 14, 32), dtype=np.float32))
    dw = {d: keras.layers.DepthwiseConv2D(3, padding="same", dilation_rate=d, use_bias=False) for d in (1, 2)}
    for layer in dw.values():
        layer(x)
    pool = keras.layers.MaxPooling2D(3, strides=1, padding="same")
    cases = {
        "3x3 depthwise": (dw[1], lambda v: depthwise_conv(v, dw[1].kernel)),
        "3x3 depthwise, dilation 2": (dw[2], lambda v: depthwise_conv(v, dw[2].kernel, 1, 2)),
        "3x3 max pooling": (pool, lambda v: max_pool(v, 3, 1)),
    }
    lines = ["| operation | TensorFlow layer, XLA | TensorFlow layer, no XLA | shifted views, XLA | "
             "shifted views, no XLA |", "|---|---:|---:|---:|---:|"]
    for name, (layer, views) in cases.items():
        cells = []
        for fn in (layer, views):
            for jit in (True, False):
                @tf.function(jit_compile=jit)
                def step(v, fn=fn):
                    with tf.GradientTape() as tape:
                        tape.watch(v)
                        loss = tf.reduce_sum(fn(v) ** 2)
                    return tape.gradient(loss, [v] + layer.trainable_weights)

                step(x)
                times = []
                for _ in range(20):
                    start = time.perf_counter()
                    step(x)
                    times.append(time.perf_counter() - start)
                cells.append(f"{1000 * statistics.median(times):.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        append_results("xla_ops (DARTS window operations, ms per training step)", table,
                       "The shifted-view forms equal the layers to float rounding (tests/test_search.py); the "
                       "searched encoders use them, so a scheme with a searched encoder trains under XLA with "
                       "the rest of the link.")


if __name__ == "__main__":
    main()
