"""The comparison: scheme variants, the digital and teacher-over-channel models, and the reduced
``semcom-sim compare`` run end to end (the one CI runs), with its files and notebook."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import execute_notebook

from semcom_sim import Compare, Model, Phy, Scenario, ScenarioError, Scheme, Search, Sweep, Training, load_scenario
from semcom_sim.data import Dataset
from semcom_sim.losses import CrossEntropyRateLoss
from semcom_sim.results import FIGURES, RESULT_COLUMNS, ResultsStore, read_adaptation, read_results
from semcom_sim.scenario import SCHEMES
from semcom_sim.schemes import resolve_scheme
from semcom_sim.semantic.quantizer import features_to_bits
from semcom_sim.studies import Variant
from semcom_sim.system import build_model, digital_num_features, seed_everything

ROOT = Path(__file__).resolve().parents[2]
TINY_COMPARE = ROOT / "scenarios" / "compare_tiny.py"
NOTEBOOKS = ROOT / "notebooks"
SMALL = dict(model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
             training=Training(jit_compile=False, epochs=1, batch_size=64, distillation="cached"))


# -- scenario ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields,where", [
    ({"conditions": ("TDL-Z/ls",)}, "compare.conditions"),
    ({"conditions": ("TDL-A",)}, "compare.conditions"),
    ({"schemes": ("proposed", "magic")}, "compare.schemes"),
    ({"schemes": ("proposed", "proposed")}, "compare.schemes"),
    ({"data_fractions": (0.0, 1.0)}, "compare.data_fractions"),
    ({"feedback_delay_ms": (-1.0,)}, "compare.feedback_delay_ms"),
    ({"fraction_ebno_db": (float("nan"),)}, "compare.fraction_ebno_db"),
    ({"target_accuracy": 1.5}, "compare.target_accuracy"),
])
def test_bad_compare_fields_name_the_field(fields, where):
    with pytest.raises(ScenarioError, match=where.replace(".", r"\.")):
        Scenario(name="c", compare=Compare(**fields))


@pytest.mark.parametrize("patch,message", [
    ({"phy.coderate": 1.0}, r"^scheme 'digital': phy\.coderate: the digital link's LDPC code rate must be in \(0, 1\)"),
    ({"phy.num_bits_per_symbol": 3}, r"^scheme 'digital': phy\.num_bits_per_symbol: the digital link's QAM must have "
                                     r"2, 4, 6 or 8 bits per symbol"),
    ({"model.quant_bits": 0}, r"^scheme 'digital': model\.quant_bits: must be in 1\.\.16"),
])
def test_an_override_of_the_digital_scheme_is_checked_when_resolved(patch, message):
    scenario = Scenario(name="c", schemes=(Scheme("digital", patch),))  # compare resolves it when it starts
    with pytest.raises(ScenarioError, match=message):
        resolve_scheme(scenario, "digital")
    with pytest.raises(ScenarioError, match=message):  # trained by default: checked when the scenario is built
        Scenario(name="c", schemes=(Scheme("digital", patch),), sweep=Sweep(schemes=("digital",)))


def test_digital_model_refuses_the_adaptive_module():
    with pytest.raises(ScenarioError, match=r"model\.adaptive"):
        Model(transmission="digital", adaptive=True)


def test_scheme_scenarios_change_only_what_the_scheme_says(tmp_path):
    genotype = {"normal": [["skip", 0], ["sep_conv_3x3", 1]], "reduce": [["avg_pool_3x3", 0], ["skip", 1]],
                "channels": 4, "cells": 2, "nodes": 1, "stem_stride": 2}
    (tmp_path / "genotype.json").write_text(json.dumps(genotype))
    overrides = (Scheme("fixed-snr", {"training.ebno_db_range": (7.0, 7.0)}),
                 Scheme("online-kd", {"training.epochs": 2}), Scheme("digital", {"model.quant_bits": 2}))
    base = Scenario(name="s", search=Search(genotype=str(tmp_path / "genotype.json")), schemes=overrides,
                    phy=Phy(direction="uplink"), **SMALL)  # the uplink: PUSCH is the uplink's chain
    s = {name: resolve_scheme(base, name) for name in SCHEMES}
    assert s["rkd-sc"].model.backbone == "semcom_sim>SearchedBackbone"
    assert s["rkd-sc"].model.backbone_config["genotype"]["normal"] == genotype["normal"]
    for name in ("rkd-sc", "rkd-sc-handcrafted", "rkd-sc-dense-codec"):
        assert [stage.name for stage in s[name].training.stages] == ["distil", "classifier", "robust"]
        assert not s[name].model.adaptive and not s[name].model.stochastic
    assert s["rkd-sc-dense-codec"].model.channel_codec == "dense" and s["rkd-sc"].model.channel_codec == "cat"
    assert [stage.name for stage in s["rkd-sc-one-stage"].training.stages] == ["joint"]
    assert s["proposed"] == base
    assert s["no-adaptive"].model.adaptive is False and s["no-adaptive"].training == base.training
    assert s["no-kd"].training.distillation == "none" and s["no-kd"].model == base.model
    assert s["online-kd"].training.distillation == "online" and s["online-kd"].training.epochs == 2
    assert s["teacher-over-channel"].model.source == "teacher-features"
    assert s["teacher-over-channel"].training.distillation == "none"
    assert s["digital"].model.transmission == "digital" and s["digital"].model.quant_bits == 2
    assert (s["digital"].phy.num_bits_per_symbol, s["digital"].phy.coderate) == (4.0, 0.5)
    assert s["digital"].training.distillation == "cached"  # the same student learning, another link
    assert s["fixed-snr"].training.ebno_db_range == (7.0, 7.0)
    assert s["fixed-snr"].model.adaptive is False and s["fixed-snr"].training.distillation == "none"
    assert s["pusch"].model.transmission == "pusch" and s["pusch"].phy.mcs_index == 13
    assert s["pusch"].training == s["digital"].training and s["pusch"].model.quant_bits == 4
    with pytest.raises(ScenarioError, match=r"^scheme 'pusch': model.transmission: PUSCH is the uplink shared channel"):
        resolve_scheme(Scenario(name="d", **SMALL), "pusch")  # the downlink
    # every scheme is its own experiment: distinct checkpoint fingerprints
    assert len({x.fingerprint() for x in s.values()}) == len(SCHEMES)


def test_a_fraction_variant_keeps_the_optimizer_steps():
    base = Scenario(name="f", training=Training(epochs=5))
    for f in (0.1, 0.2, 0.5):
        t = Variant.fraction(base, f).apply(base).training
        assert t.train_fraction == f and t.epochs == math.ceil(5 / f - 1e-9)
    assert Variant.fraction(base, 1.0).apply(base) is base


# -- the digital model ------------------------------------------------------------------------------

def test_digital_scheme_uses_the_same_channel_uses_as_the_analog_link():
    scenario = resolve_scheme(Scenario(name="d", model=Model(num_channel_uses=64)), "digital")
    # 64 channel uses x 4 bits x rate 1/2 = 128 information bits = 32 features of 4 bits
    assert digital_num_features(scenario.model, scenario.phy) == 32
    digital = build_model(scenario, 10)
    analog = build_model(Scenario(name="a", model=Model(num_channel_uses=64)), 10)
    assert digital.latent_dim == 32 and digital.link.bits_per_sample == 128
    assert digital.link.samples_per_frame == analog.link.mapper.samples_per_frame == 11


def test_digital_model_decodes_error_free_at_high_snr_and_fails_below_the_cliff():
    seed_everything(3)
    scenario = resolve_scheme(Scenario(name="d", phy=Phy(channel="AWGN", csi="perfect"), **SMALL), "digital")
    model = build_model(scenario, 10)
    images = tf.random.uniform([40, 28, 28, 1])
    mu, _ = model.encoder(images)
    sent = model.quantizer(tf.tanh(mu))
    error_free = model.decoder(sent, tf.zeros([40, 2])).numpy()
    np.testing.assert_allclose(model((images, tf.constant(30.0)))["logits"].numpy(), error_free, rtol=1e-5, atol=1e-5)
    # below the LDPC threshold the decoded bits, hence the logits, differ
    h, _ = model.link.draw_channel(model.num_frames(40))
    rx = model.link.transmit(features_to_bits(sent, scenario.model.quant_bits), h,
                             model.link.noise_variance(tf.fill([model.num_frames(40)], -4.0)))
    assert float(tf.reduce_mean(rx.block_error)) == 1.0


def test_digital_training_path_is_error_free_and_trains_the_encoder():
    scenario = resolve_scheme(Scenario(name="d", **SMALL), "digital")
    model = build_model(scenario, 10)
    images = tf.random.uniform([64, 28, 28, 1])
    with tf.GradientTape() as tape:
        loss, _ = CrossEntropyRateLoss()(model((images, tf.constant(0.0)), training=True),
                                         tf.zeros([64], tf.int32))
    grad = tape.gradient(loss, model.encoder.backbone.convs[0].kernel)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0  # straight through the quantiser


def test_teacher_over_channel_model_reads_feature_vectors():
    scenario = resolve_scheme(Scenario(name="t", **SMALL), "teacher-over-channel")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 48)).astype(np.float32)
    y = rng.integers(0, 4, 100).astype(np.int32)
    features = Dataset("f", x, y, x[:20], y[:20], 4, tuple("abcd"), "0" * 16, modality="features")
    from semcom_sim.system import build_model_for

    model = build_model_for(scenario, features)
    out = model((tf.constant(x[:50]), tf.constant(10.0)))
    assert out["logits"].shape == (50, 4)
    assert model.encoder.backbone.__class__.__name__ == "DenseBackbone"
    with pytest.raises(ValueError, match="features"):
        Dataset("f", x[:, :, None], y, x[:20], y[:20], 4, tuple("abcd"), "0" * 16, modality="features")


# -- results keyed by the condition columns ----------------------------------------------------------

def test_rows_of_two_conditions_of_one_channel_coexist(tmp_path):
    store = ResultsStore(tmp_path / "r.csv")
    row = dict(scheme="proposed", channel="TDL-A", ebno_db=0.0, esno_db=1.0, accuracy=0.5, ci_low=0.4, ci_high=0.6,
               samples=100, correct=50, stop="ci", model_id="m", snr_feedback_bits=4, snr_feedback_delay_ms=0.0,
               train_fraction=1.0)
    store.put({**row, "csi": "ls", "variant": ""})
    store.put({**row, "csi": "perfect", "variant": "", "accuracy": 0.7})
    store.put({**row, "csi": "ls", "variant": "feedback", "snr_feedback_bits": 2})
    # the feedback study at the scenario's own resolution is its own point, beside the plain one
    store.put({**row, "csi": "ls", "variant": "feedback", "accuracy": 0.55})
    assert len(ResultsStore(tmp_path / "r.csv")) == 4
    plain = dict(variant="", snr_feedback_bits=4, snr_feedback_delay_ms=0.0, train_fraction=1.0)
    assert store.lookup("proposed", "TDL-A", 0.0, "m", csi="perfect", **plain)["accuracy"] == 0.7
    assert store.lookup("proposed", "TDL-A", 0.0, "m", csi="ls", **plain)["accuracy"] == 0.5
    assert store.lookup("proposed", "TDL-A", 0.0, "m", csi="ls", **dict(plain, variant="feedback"))["accuracy"] == 0.55
    assert store.lookup("proposed", "CDL-C", 0.0, "m", csi="ls", **plain) is None


def test_variants_are_patches_of_the_scenario():
    scenario = Scenario(name="v", training=Training(epochs=3))
    assert Variant.feedback(2).apply(scenario).phy.snr_feedback_bits == 2
    assert Variant.stale(5).apply(scenario).phy.snr_feedback_delay_ms == 5.0
    assert not Variant.feedback(2).retrains and Variant.fraction(scenario, 0.25).retrains
    assert Variant.fraction(scenario, 1.0).apply(scenario) == scenario
    with pytest.raises(ScenarioError, match="compare: fraction variant 0: training.train_fraction"):
        Variant("fraction", 0.0, {"training.train_fraction": 0.0}).apply(scenario)


# -- the reduced comparison, end to end (what CI runs) ------------------------------------------------

@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    from semcom_sim.cli import main

    out = tmp_path_factory.mktemp("compare")
    cache = out / "cache" / "{dataset}-{name}-top{top_k}.h5"
    overrides = [f"teacher.cache_path={cache}",
                 "training.jit_compile=false",  # XLA compilation would be most of the time; others test it
                 "sweep.max_samples=200",  # one batch per point: test_sweep tests the stopping rule
                 "compare.fraction_schemes=('proposed',)",  # one scheme's fractions: the study's rows, not a verdict
                 "compare.robustness_schemes=('proposed',)",  # one scheme's feedback study, likewise
                 "compare.latency_runs=2",  # the cost table's columns, not a latency figure worth citing
                 "compare.limit_scheme='proposed'",  # the finite-blocklength reference's rows beside the schemes
                 "compare.label_baseline=true",  # and the label over a 5G polar code
                 # every scheme but no-kd and fixed-snr: each is proposed with one patch (test_schemes resolves them)
                 "compare.schemes=('proposed', 'no-adaptive', 'online-kd', 'teacher-over-channel', 'digital', "
                 "'adaptive-length')",
                 "compare.conditions=('AWGN/perfect',)"]  # the grid on AWGN; the studies run on TDL-A with LS CSI
    args = ["compare", str(TINY_COMPARE), "--out", str(out / "run"), "--no-progress"]
    assert main(args + [w for o in overrides for w in ("--set", o)]) == 0
    return out / "run", load_scenario(TINY_COMPARE, overrides)


@pytest.mark.slow
def test_compare_writes_one_table_with_every_scheme_and_condition(compared):
    out, scenario = compared
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == RESULT_COLUMNS
    rows = read_results(out / "results.csv")
    cfg, points = scenario.compare, scenario.sweep.ebno_db
    keys = {(r["scheme"], f"{r['channel']}/{r['csi']}", r["ebno_db"]) for r in rows if not r["variant"]}
    for scheme in cfg.schemes:
        for condition in cfg.conditions:
            for e in points:
                assert (scheme, condition, e) in keys
    # the reference: proposed's student and link under every condition, on the grid's points
    reference = {(f"{r['channel']}/{r['csi']}", r["ebno_db"]): r for r in rows if r["scheme"] == "ideal-label"}
    assert set(reference) == {(c, e) for c in cfg.conditions for e in points}
    proposed_id = {r["model_id"] for r in rows if r["scheme"] == "proposed" and not r["variant"]}
    assert {r["model_id"] for r in reference.values()} == proposed_id
    # the polar label baseline: the same student and draws; at 12 dB on AWGN every codeword and every ideal label
    # arrives, so both are the on-device classifier, sample for sample
    coded = {(f"{r['channel']}/{r['csi']}", r["ebno_db"]): r for r in rows if r["scheme"] == "label-polar"}
    assert set(coded) == set(reference) and {r["model_id"] for r in coded.values()} == proposed_id
    assert coded[("AWGN/perfect", 12.0)]["correct"] == reference[("AWGN/perfect", 12.0)]["correct"]
    base = scenario.phy
    studies = {(r["scheme"], r["variant"], r["snr_feedback_bits"], r["snr_feedback_delay_ms"], r["train_fraction"])
               for r in rows if r["variant"] and r["variant"] != "length"}
    bits, delay = base.snr_feedback_bits, base.snr_feedback_delay_ms
    robust = {("feedback", 2, delay, 1.0), ("feedback", 8, delay, 1.0), ("stale", bits, 20.0, 1.0)}
    assert studies == ({(s, *v) for s in cfg.robustness_schemes for v in robust}
                       | {(s, "fraction", bits, delay, f) for s in cfg.fraction_schemes for f in (0.5, 1.0)})
    # the SNR-blind reference of nested lengths: every length at every point, and what each row sent
    lengths = resolve_scheme(scenario, "adaptive-length").model.lengths  # the scenario's four, not the default eight
    assert lengths == (8, 16, 32, 64)
    fixed = {(r["fixed_length"], r["ebno_db"]): r["channel_uses"] for r in rows if r["variant"] == "length"}
    assert fixed == {(length, e): float(length) for length in lengths for e in points}
    deployed = [r for r in rows if r["scheme"] == "adaptive-length" and not r["variant"]]
    assert deployed and all(min(lengths) <= r["channel_uses"] <= max(lengths) for r in deployed)
    assert all(r["channel_uses"] == scenario.model.num_channel_uses for r in rows if r["scheme"] == "proposed")
    for r in rows:
        assert not r["variant"] or (r["channel"], r["csi"]) == (base.channel, base.csi)
        assert r["ci_low"] <= r["accuracy"] <= r["ci_high"] and r["samples"] >= scenario.sweep.min_samples
    # the teacher's features through the same link beat chance by far; the digital link shows the cliff on
    # AWGN: error-free LDPC at 12 dB, every frame lost at 0 dB (threshold ~4 dB for 16-QAM rate 1/2)
    acc = {(r["scheme"], f"{r['channel']}/{r['csi']}", r["ebno_db"]): r["accuracy"] for r in rows if not r["variant"]}
    assert acc[("teacher-over-channel", "AWGN/perfect", 12.0)] > 0.6
    assert acc[("digital", "AWGN/perfect", 12.0)] - acc[("digital", "AWGN/perfect", 0.0)] > 0.1


@pytest.mark.slow
def test_compare_cost_distillation_summary_and_figures(compared):
    out, scenario = compared
    with open(out / "cost.csv", newline="") as f:
        cost = {r["scheme"]: r for r in csv.DictReader(f)}
    assert set(cost) == set(scenario.compare.schemes) | {"teacher", "label-polar"}
    assert cost["label-polar"]["flops_per_sample"] == cost["proposed"]["flops_per_sample"]  # the student, on the device
    assert int(cost["teacher"]["parameters"]) > 10 * int(cost["proposed"]["parameters"])
    assert int(cost["teacher"]["flops_per_sample"]) > 10 * int(cost["proposed"]["flops_per_sample"])
    assert int(cost["proposed"]["parameters"]) > int(cost["no-adaptive"]["parameters"])
    assert all(int(r["bytes"]) == 4 * int(r["parameters"]) for r in cost.values())
    with open(out / "distillation.csv", newline="") as f:
        dist = list(csv.DictReader(f))
    epochs = {s: [int(r["epoch"]) for r in dist if r["scheme"] == s] for s in scenario.compare.schemes}
    assert epochs["online-kd"] == [1] and epochs["proposed"] == [1, 2]
    walls = [float(r["wall_s"]) for r in dist if r["scheme"] == "proposed"]
    assert walls[1] > walls[0] > 0
    summary = (out / "summary.md").read_text()
    assert "## Where each scheme wins and loses" in summary
    teacher_accuracy = json.loads((out / "plan.json").read_text())["teacher_test_accuracy"]
    assert 0.5 < teacher_accuracy <= 1.0  # the committed teacher's report
    assert "## How far from the limit" in summary and "| ideal-label |" in summary and "| label-polar |" in summary
    for scheme in scenario.compare.schemes:
        assert f"| {scheme} |" in summary
    run = json.loads((out / "run.json").read_text())["invocations"]
    assert len(run) == 1 and run[0]["command"].startswith("semcom-sim compare")
    for name in FIGURES.values():
        assert (out / name).stat().st_size > 10_000, name
    adaptation = read_adaptation(out / "adaptation.csv")
    grid = scenario.compare.mismatch_ebno_db
    cells = {(r["fed_ebno_db"], r["ebno_db"]) for r in adaptation if r["study"] == "mismatch"}
    assert cells == {(a, b) for a in grid for b in grid}
    for r in adaptation:
        if r["study"] == "mismatch" and r["fed_ebno_db"] == r["ebno_db"]:
            assert r["difference"] == 0.0 and r["better"] == r["worse"] == 0  # the matched cell against itself
    assert {r["study"] for r in adaptation} == {"mismatch", "deployed", "shuffle", "gate"}
    assert "## Channel adaptation: `adaptive-length` (nested lengths)" in summary


@pytest.mark.slow
def test_compare_notebook_runs_on_the_reduced_comparison(compared, venv_kernel, monkeypatch):
    out, _ = compared
    monkeypatch.setenv("SEMCOM_NOTEBOOK_COMPARE_DIR", str(out))
    execute_notebook(NOTEBOOKS / "02_compare.ipynb", venv_kernel, ROOT, 5, monkeypatch)
