"""Throughput of the semantic link vs the bare Sionna chain, and XLA vs eager training.

Measures, on the quickstart's grid and channel (TDL-A, LS CSI, LMMSE):

* the full chain (encoder -> adaptive module -> OFDM link -> decoder, inference) in OFDM frames/s
  and samples/s, XLA and eager, at batch 64 and 512 samples;
* the bare Sionna chain with the same grid, channel, estimator and equaliser (with several antennas: the same
  arrays, sounding, precoding and MIMO equaliser), random QPSK and no neural layers, on the same number of
  OFDM frames;
* the neural layers alone (encoder, adaptive module, decoder; no PHY) on the same batch, so that the
  full chain's time splits into bare chain + neural layers + the rest (mapping, packing, SNR features), and the
  full chain's time over the sum of the two;
* one training step (forward + backward + Adam), XLA vs eager.

Prints a table and appends it to benchmarks/RESULTS.md.

    python -m benchmarks.link_throughput [SCENARIO] [--repeats 20] [--batch-sizes 64 512] [--no-append]

SCENARIO defaults to ``scenarios/quickstart.py``; ``scenarios/mimo_cdl.py`` (with ``--set`` overrides of its
antennas) measures a multi-antenna link.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from benchmarks._common import append_results
from semcom_sim import apply_overrides, load_scenario
from semcom_sim.losses import make_loss
from semcom_sim.phy import MIMOOFDMLink, OFDMLink
from semcom_sim.system import build_model, seed_everything
from semcom_sim.train import train_step_fn


def timed(fn, repeats: int) -> float:
    """Median seconds per call after two warm-up calls (compilation excluded)."""
    fn(), fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", default="scenarios/quickstart.py",
                        help="scenario file (default: scenarios/quickstart.py)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a scenario field (repeatable), e.g. --set phy.num_bs_ant=4")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    scenario = apply_overrides(load_scenario(args.scenario), args.overrides)
    seed_everything(0)
    model = build_model(scenario, num_classes=10)
    mimo = scenario.phy.is_mimo
    bare = MIMOOFDMLink(scenario.phy) if mimo else OFDMLink(scenario.phy)
    streams = (bare.num_streams,) if mimo else ()
    rows = []
    for batch in args.batch_sizes:
        frames = model.num_frames(batch)
        images = tf.random.uniform([batch, 28, 28, 1])
        labels = tf.random.uniform([batch], 0, 10, dtype=tf.int32)
        ebno = tf.constant(10.0)
        no = tf.fill([frames], tf.cast(model.link.noise_variance(ebno), tf.float32))
        bits = np.random.default_rng(0).integers(0, 2, size=(frames, *streams, bare.num_data_symbols, 2))
        qpsk = tf.constant((((1 - 2 * bits[..., 0]) + 1j * (1 - 2 * bits[..., 1])) / np.sqrt(2)).astype(np.complex64))

        # a distilling scenario's loss reads the cached teacher's probabilities: uniform ones cost the same
        extras = ({"teacher_probs": tf.fill([batch, 10], 0.1)} if scenario.training.distillation != "none" else {})
        snr_tx = tf.zeros([batch, 1])
        snr_rx = tf.zeros([batch, 2])

        def neural_only():
            mu, _ = model.encoder(images)
            z = model.adaptive(mu, snr_tx) if model.adaptive is not None else mu
            return model.decoder(z, snr_rx)

        def bare_chain():
            h, h_sound = bare.draw_channel(frames)
            snr = bare.sound(h_sound, no)
            if mimo:
                return bare(qpsk, h, no, bare.precoder(h, h_sound, no)).x_hat, snr
            return bare(qpsk, h, no).x_hat, snr

        result = {"batch": batch, "frames": frames}
        for mode, jit in (("xla", True), ("eager", False)):
            full_fn = tf.function(lambda: model((images, ebno))["logits"], jit_compile=True) if jit else \
                (lambda: model((images, ebno))["logits"])
            bare_fn = tf.function(bare_chain, jit_compile=True) if jit else bare_chain
            result[f"full_{mode}"] = timed(lambda: full_fn().numpy(), args.repeats)
            result[f"bare_{mode}"] = timed(lambda: bare_fn()[0].numpy(), args.repeats)
            neural_fn = tf.function(neural_only, jit_compile=True) if jit else neural_only
            result[f"neural_{mode}"] = timed(lambda: neural_fn().numpy(), args.repeats)
            optimizer = __import__("keras").optimizers.Adam(1e-3)
            optimizer.build(model.trainable_variables)
            step = train_step_fn(model, optimizer, make_loss(scenario.training), (0.0, 15.0), jit)
            step_fn = step if jit else step.python_function
            result[f"train_{mode}"] = timed(lambda: float(step_fn(images, labels, extras)[0]),
                                            max(3, args.repeats // 4))
        rows.append(result)

    lines = ["| batch (samples) | OFDM frames | chain | XLA frames/s | eager frames/s | XLA samples/s |",
             "|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        for chain in ("full", "bare"):
            lines.append(f"| {r['batch']} | {r['frames']} | {chain} | {r['frames'] / r[chain + '_xla']:,.0f} | "
                         f"{r['frames'] / r[chain + '_eager']:,.0f} | "
                         + (f"{r['batch'] / r[chain + '_xla']:,.0f} |" if chain == "full" else "- |"))
    lines += ["", "| batch (samples) | full/bare (XLA) | full/bare (eager) | XLA ms per batch: full / bare / "
              "neural layers alone / rest | full / (bare + neural) (XLA) | train step XLA [ms] | train step eager [ms] "
              "| XLA speed-up |",
              "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        rest = r["full_xla"] - r["bare_xla"] - r["neural_xla"]
        lines.append(f"| {r['batch']} | {r['bare_xla'] / r['full_xla']:.2f}x | "
                     f"{r['bare_eager'] / r['full_eager']:.2f}x | "
                     f"{1e3 * r['full_xla']:.2f} / {1e3 * r['bare_xla']:.2f} / {1e3 * r['neural_xla']:.2f} / "
                     f"{1e3 * rest:+.2f} | {r['full_xla'] / (r['bare_xla'] + r['neural_xla']):.2f}x | "
                     f"{1e3 * r['train_xla']:.1f} | {1e3 * r['train_eager']:.1f} | "
                     f"{r['train_eager'] / r['train_xla']:.1f}x |")
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        phy = scenario.phy
        arrays = (f", {phy.num_tx_ant}x{phy.num_rx_ant} {phy.direction}, {phy.num_streams} stream(s), precoding "
                  f"{phy.precoding}, {phy.equalizer}" if mimo else "")
        append_results(f"link_throughput ({scenario.name}: {phy.channel}, {phy.csi} CSI{arrays})", table)


if __name__ == "__main__":
    main()
