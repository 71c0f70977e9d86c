"""Does a learned length policy with a rate penalty beat the table ``L*(q)``?

    python -m benchmarks.learned_length_policy SCENARIO RUN_DIR [--scheme adaptive-length] [--samples 4000] \\
        [--no-append]
    python -m benchmarks.learned_length_policy scenarios/compare_fashion_mnist.py docs/results/compare_fashion_mnist

Takes the trained nested model of ``--scheme`` from a finished comparison (its checkpoint; nothing of it is
retrained) and compares two ways of choosing how many channel uses ``L`` a sample sends, on the **same**
test samples, channel and noise draws, under the scenario's own channel:

- **the table** ``L*(q)``: one ``L`` per fed-back SNR level, nothing signalled (what ``adaptive-length``
  deploys), refitted from the held-out outcomes at several tolerances (``model.policy_tolerance`` is the
  deployed one): the table's rate-accuracy curve;
- **the table fitted to the targets**: the monotone table that sends the fewest channel uses on the
  held-out samples while meeting the per-Eb/N0 targets there (accuracy at least all ``n`` uses' minus the
  deployed tolerance at every Eb/N0 of the fit), found greedily: is the deployed table's slack on test
  reachable from held-out data alone?
- **a learned per-sample policy** ``pi(L | mu, q)`` in the manner of Dynamic_JSCC (REFERENCES.md): an MLP
  (2 x 64 ReLU) of the encoder's mean features ``mu`` and the fed-back SNR, trained on the held-out samples
  with the loss ``E_pi[CE_L] + lambda * E_pi[L / n]``, one policy per ``lambda``. The expectation over the
  ``K`` lengths is exact: every held-out sample is sent at every ``L`` with the same draws, so no Gumbel
  noise is needed. At test ``L = argmax pi``. The receiver must learn a per-sample ``L``: ``ceil(log2 K)``
  bits, counted as channel uses at 1 bit per complex channel use (a rate-1/2 QPSK control channel, taken
  as error-free).

The held-out outcomes are those of the deployed fit (``training.validation_samples`` samples on the fit's
Eb/N0 grid, ``model.policy_ebno_step_db`` apart in ``training.ebno_db_range``, the fit's seed), so the table
refitted at the deployed tolerance is the checkpoint's table; the script checks that. Prints, per policy:
accuracy over the sweep's Eb/N0 points, the paired drop against sending all ``n`` uses (worst point, with its
95 % interval) and the mean channel uses; then, for each learned policy, the table's accuracy at the same mean
channel uses (linear between the two table points around it): the learned policy beats the table where it is higher.
Appends the tables to benchmarks/RESULTS.md unless ``--no-append``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from benchmarks._common import append_results

TOLERANCES = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12)
LAMBDAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
EPOCHS, BATCH, LEARNING_RATE, UNITS = 30, 256, 1e-3, 64


def collect(evaluator, model, ebno_db, samples: int, seeds) -> dict:
    """Per-sample outcomes at every nested length (same draws for every length): ``correct`` and
    ``cross_entropy`` [N, K], ``snr_tx_db``, ``index``, ``ebno_db`` [N]."""
    import numpy as np

    lengths = [float(v) for v in model.model_cfg.lengths]
    parts = {"correct": [], "cross_entropy": [], "snr_tx_db": [], "index": [], "ebno_db": []}
    for ebno, seed in zip(ebno_db, seeds):
        outs = [evaluator.outcomes(float(ebno), samples, seed, length=length) for length in lengths]
        for name in ("correct", "cross_entropy"):
            parts[name].append(np.stack([o[name] for o in outs], axis=1))
        parts["snr_tx_db"].append(outs[0]["snr_tx_db"])
        parts["index"].append(outs[0]["index"])
        parts["ebno_db"].append(np.full(len(outs[0]["index"]), float(ebno)))
    return {name: np.concatenate(values) for name, values in parts.items()}


def encoder_means(model, x, batch: int):
    import numpy as np

    return np.concatenate([np.asarray(model.encoder(x[i:i + batch], training=False)[0])
                           for i in range(0, len(x), batch)])


def refit_table(model, held, tolerance: float, min_samples: int):
    """The table ``L*(q)`` the deployed fit gives at ``tolerance`` from the held-out outcomes ``held``."""
    import numpy as np

    from semcom_sim.adaptation import grid_feedback_levels_db, policy_table

    lengths = [int(v) for v in model.model_cfg.lengths]
    levels = np.asarray(model.length_policy.levels, dtype=np.float64)
    level_of = np.argmin(np.abs(held["snr_tx_db"][:, None] - levels[None, :]), axis=1)
    counts = np.bincount(level_of, minlength=len(levels)).astype(np.float64)
    hits = np.stack([np.bincount(level_of, held["correct"][:, j], minlength=len(levels))
                     for j in range(len(lengths))], axis=1)
    accuracy = np.divide(hits, counts[:, None], out=np.full_like(hits, np.nan), where=counts[:, None] > 0)
    return policy_table(accuracy, counts, lengths, levels, grid_feedback_levels_db(model), tolerance, min_samples)[1]


def fit_to_targets(model, held, tolerance: float):
    """The table over the policy grid that :func:`semcom_sim.adaptation.table_for_targets` fits to the per-Eb/N0
    targets on the held-out outcomes ``held``; grid points no held-out sample reached are filled as the
    deployed fit fills them."""
    import numpy as np

    from semcom_sim.adaptation import fill_unfitted_levels, grid_feedback_levels_db, table_for_targets

    lengths = np.asarray([int(v) for v in model.model_cfg.lengths])
    grid = np.asarray(model.length_policy.levels, dtype=np.float64)
    level_of = np.argmin(np.abs(held["snr_tx_db"][:, None] - grid[None, :]), axis=1)
    seen, level = np.unique(level_of, return_inverse=True)
    table = table_for_targets(held["correct"], level, held["ebno_db"], tolerance, lengths)
    full = np.full(len(grid), lengths[-1])
    full[seen] = lengths[table]
    fitted = np.zeros(len(grid), bool)
    fitted[seen] = True
    filled = fill_unfitted_levels(full, fitted, grid, grid_feedback_levels_db(model))
    return np.maximum.accumulate(filled[::-1])[::-1]


def train_policy(features, costs, lengths, n: int, weight: float, seed: int = 0):
    """The per-sample policy: logits [N, K] of ``features`` [N, F] trained on ``costs`` [N, K] (nats)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.layers.Dense(UNITS, activation="relu"), keras.layers.Dense(UNITS, activation="relu"),
                            keras.layers.Dense(len(lengths))])
    net.build((None, features.shape[1]))
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    rate = tf.constant(weight * np.asarray(lengths, np.float32) / n)

    @tf.function
    def step(x, c):
        with tf.GradientTape() as tape:
            p = tf.nn.softmax(net(x))
            loss = tf.reduce_mean(tf.reduce_sum(p * (c + rate[None]), axis=-1))
        optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))

    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        order = rng.permutation(len(features))
        for i in range(0, len(order), BATCH):
            step(tf.constant(features[order[i:i + BATCH]]), tf.constant(costs[order[i:i + BATCH]]))
    return net


def summarise(test, chosen, uses, points) -> dict:
    """Accuracy, worst paired drop against all ``n`` uses (with its interval) and mean uses over the points."""
    import numpy as np

    from semcom_sim.sweep import paired_difference

    rows = np.arange(len(chosen))
    correct = test["correct"][rows, chosen]
    per_point, worst = [], None
    for ebno in points:
        m = test["ebno_db"] == ebno
        d = paired_difference(correct[m], test["correct"][m, -1], 0.95)
        per_point.append(d["difference"])
        if worst is None or d["difference"] < worst["difference"]:
            worst = {**d, "ebno_db": ebno}
    uses_per_point = [float(uses[test["ebno_db"] == e].mean()) for e in points]
    return {"accuracy": float(correct.mean()), "uses": float(np.mean(uses_per_point)), "drops": per_point,
            "worst": worst, "uses_per_point": uses_per_point}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", metavar="SCENARIO", help="the comparison's scenario file")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="its run directory (semcom-sim compare --out)")
    parser.add_argument("--scheme", default="adaptive-length")
    parser.add_argument("--samples", type=int, default=4000, help="test samples per Eb/N0 point")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from semcom_sim.data.splits import validation_rows
    from semcom_sim.evaluate import AccuracyEvaluator
    from semcom_sim.experiment import Experiment
    from semcom_sim.scenario import load_scenario
    from semcom_sim.studies import compare_studies
    from semcom_sim.sweep import point_seed

    scenario = load_scenario(args.scenario)
    run = Path(args.run_dir)
    exp = Experiment.open(scenario, run, studies=compare_studies(scenario), show_progress=False)
    model, resolved, checkpoint = exp.load_for_test(args.scheme)
    fit = checkpoint.meta()["length_policy"]
    minimum = int(fit["min_samples_per_level"])
    cfg, ds = resolved.training, exp.dataset
    lengths = [int(v) for v in model.model_cfg.lengths]
    n, k = max(lengths), len(lengths)
    header = math.ceil(math.log2(k))
    batch = min(1000, scenario.sweep.batch_size)

    rows = validation_rows(resolved, ds)
    grid = np.asarray(fit["ebno_db"])
    held_eval = AccuracyEvaluator(model, ds.x_train[rows], ds.y_train[rows], min(1000, rows.size), cfg.jit_compile)
    held = collect(held_eval, model, grid, rows.size, [cfg.seed + 50_000 + i for i in range(len(grid))])
    deployed = refit_table(model, held, fit["tolerance"], minimum)
    same = deployed.tolist() == fit["policy"]
    print(f"the table refitted at the deployed tolerance {'equals' if same else 'DIFFERS FROM'} the checkpoint's",
          flush=True)
    if not same:
        raise SystemExit("the held-out outcomes do not reproduce the checkpoint's table: not the run's model or data")

    points = [float(e) for e in scenario.sweep.ebno_db]
    test_eval = AccuracyEvaluator(model, ds.x_test, ds.y_test, batch, cfg.jit_compile)
    samples = min(args.samples, len(ds.y_test))
    test = collect(test_eval, model, points, samples, [point_seed(scenario.sweep.seed, "learned-length-policy", e)
                                                      for e in points])

    mu_held = encoder_means(model, ds.x_train[rows], batch)[held["index"]]
    mu_test = encoder_means(model, ds.x_test, batch)[test["index"]]
    feats_held = np.concatenate([mu_held, held["snr_tx_db"][:, None] / 10.0], axis=1).astype(np.float32)
    feats_test = np.concatenate([mu_test, test["snr_tx_db"][:, None] / 10.0], axis=1).astype(np.float32)
    mean, std = feats_held.mean(0), feats_held.std(0) + 1e-6
    feats_held, feats_test = (feats_held - mean) / std, (feats_test - mean) / std

    length_arr = np.asarray(lengths, np.float32)
    table_rows, learned_rows = [], []
    def deploy(table):
        """What the table sends each test sample (through the model's lookup, feedback bins included)."""
        model.length_policy.set_table(table)
        sent = np.asarray(model.length_policy(tf.constant(test["snr_tx_db"], tf.float32),
                                              bin_width_db=model.feedback_bin_db))
        return summarise(test, np.searchsorted(length_arr, sent), sent, points)

    for tolerance in TOLERANCES:
        table_rows.append((tolerance, deploy(refit_table(model, held, tolerance, minimum))))
        print(f"table, tolerance {tolerance}: {table_rows[-1][1]['accuracy']:.4f}, "
              f"{table_rows[-1][1]['uses']:.1f} uses", flush=True)
    targeted = deploy(fit_to_targets(model, held, fit["tolerance"]))
    print(f"table fitted to the held-out targets: {targeted['accuracy']:.4f}, {targeted['uses']:.1f} uses",
          flush=True)
    for weight in LAMBDAS:
        net = train_policy(feats_held, held["cross_entropy"].astype(np.float32), lengths, n, weight)
        chosen = np.argmax(np.asarray(net(tf.constant(feats_test))), axis=1)
        learned_rows.append((weight, summarise(test, chosen, length_arr[chosen] + header, points)))
        print(f"learned, lambda {weight}: {learned_rows[-1][1]['accuracy']:.4f}, "
              f"{learned_rows[-1][1]['uses']:.1f} uses", flush=True)

    def line(label, s):
        w = s["worst"]
        return (f"| {label} | {s['accuracy']:.4f} | " + ", ".join(f"{100 * d:+.1f}" for d in s["drops"])
                + f" | {100 * w['difference']:+.1f} [{100 * w['low']:+.1f}, {100 * w['high']:+.1f}] "
                  f"at {w['ebno_db']:g} dB | "
                + " ".join(f"{u:.1f}" for u in s["uses_per_point"]) + f" | {s['uses']:.1f} |")

    head = ("| policy | accuracy | paired drop vs all uses per point [points] | worst drop [95 % CI] | channel uses "
            "per point | mean channel uses |\n|---|---:|---|---|---|---:|")
    lines = [head]
    for tolerance, s in table_rows:
        deployed_mark = " (deployed)" if tolerance == fit["tolerance"] else ""
        lines.append(line(f"table L*(q), tolerance {100 * tolerance:g} point{deployed_mark}", s))
    lines.append(line(f"table fitted to the per-Eb/N0 targets on the held-out samples, tolerance "
                      f"{100 * fit['tolerance']:g} point", targeted))
    for weight, s in learned_rows:
        lines.append(line(f"learned pi(L | mu, q), lambda {weight:g} (+{header} header uses)", s))
    curve = sorted((s["uses"], s["accuracy"]) for _, s in table_rows)
    lines += ["", "| learned policy | mean channel uses | accuracy | table at the same channel uses | "
                  "learned - table [points] |", "|---|---:|---:|---:|---:|"]
    uses_c, acc_c = np.array([u for u, _ in curve]), np.array([a for _, a in curve])
    for weight, s in learned_rows:
        if s["uses"] < uses_c[0] or s["uses"] > uses_c[-1]:
            lines.append(f"| lambda {weight:g} | {s['uses']:.1f} | {s['accuracy']:.4f} | outside the table's range "
                         f"({uses_c[0]:.1f}-{uses_c[-1]:.1f}) | |")
            continue
        at = float(np.interp(s["uses"], uses_c, acc_c))
        lines.append(f"| lambda {weight:g} | {s['uses']:.1f} | {s['accuracy']:.4f} | {at:.4f} | "
                     f"{100 * (s['accuracy'] - at):+.1f} |")
    low = test["ebno_db"] == points[0]
    wrong = low & ~test["correct"][:, -1]
    ce_wrong = test["cross_entropy"][wrong].mean(axis=0)
    shorter = float(np.mean(np.argmin(test["cross_entropy"][low], axis=1) < k - 1))
    cross_entropy = (f"Cross-entropy is not accuracy: at {points[0]:g} dB the samples decided wrong at all {n} uses "
                     f"have a mean CE of " + ", ".join(f"{c:.2f}" for c in ce_wrong) + " nats at L = "
                     + ", ".join(str(v) for v in lengths) + f"; on each draw, {100 * shorter:.0f} % of the "
                     f"samples have their lowest CE below {n} uses.")
    lines += ["", cross_entropy]
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        channel, csi = scenario.phy.channel, scenario.phy.csi
        append_results(f"learned_length_policy ({scenario.name}, {args.scheme}, {channel}/{csi}, {samples} test "
                       f"samples per point, Eb/N0 {', '.join(f'{e:g}' for e in points)} dB)", table,
                       notes=(f"Accuracy and channel uses averaged over the Eb/N0 points; paired drops against every "
                              f"sample sending all {n} uses on the same test samples and draws. The learned policies "
                              f"are trained on the {rows.size} held-out samples x {len(grid)} Eb/N0 points of the "
                              f"deployed fit ({EPOCHS} epochs, batch {BATCH}, Adam {LEARNING_RATE:g}) and pay "
                              f"{header} channel uses per sample for signalling their L."))


if __name__ == "__main__":
    main()
