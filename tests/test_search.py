"""KDL-DARTS: the operations and cells, the genotype rule, the complexity penalty's gradient, a tiny
search end to end (genotypes, Pareto file, provenance) and the derived encoder inside a semantic link."""

from __future__ import annotations

import csv
import json
import math
import pickle
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import Data, Model, Phy, Scenario, ScenarioError, Search, Sweep, Teacher, Training
from semcom_sim.data import load_dataset
from semcom_sim.search import (
    PARETO_COLUMNS,
    SearchJob,
    backbone_config,
    choose_genotype,
    derive_genotype,
    expected_parameters,
    load_genotype,
    run_search,
)
from semcom_sim.semantic.darts import (
    OPS,
    Cell,
    MixedOp,
    Network,
    SearchedBackbone,
    depthwise_conv,
    make_op,
    max_pool,
    num_edges,
    use_window_views,
)
from semcom_sim.sweep import wilson_interval
from semcom_sim.system import build_model
from semcom_sim.teacher import TeacherIdentity, compress_topk, write_cache

ROOT = Path(__file__).resolve().parents[1]


def test_every_operation_keeps_or_halves_the_image_and_keeps_the_channels():
    x = tf.random.stateless_normal((2, 9, 9, 8), seed=(1, 2))
    for name in OPS:
        for stride, size in ((1, 9), (2, 5)):
            op = make_op(name, 8, stride)
            y = op(x, training=False) if hasattr(op, "norm") else op(x)
            assert tuple(y.shape) == (2, size, size, 8), (name, stride)
    assert np.all(make_op("none", 8, 2)(x).numpy() == 0)
    np.testing.assert_array_equal(make_op("skip", 8, 1)(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="unknown operation 'conv_7x7'"):
        make_op("conv_7x7", 8, 1)


@pytest.mark.parametrize("height", [7, 8])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 2)])
def test_the_xla_friendly_window_operations_equal_keras_depthwise_convolution_and_max_pooling(height, stride,
                                                                                              dilation):
    # the shifted-view sums place every window as TensorFlow's "same" padding does, on odd and even sizes
    x = tf.constant(np.random.default_rng(height).normal(size=(2, height, height + 1, 5)).astype("float32"))
    layer = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", dilation_rate=dilation, use_bias=False)
    expected = layer(x)
    np.testing.assert_allclose(depthwise_conv(x, layer.kernel, stride, dilation), expected, atol=1e-5)
    if dilation == 1:
        np.testing.assert_array_equal(max_pool(x, 3, stride), keras.layers.MaxPooling2D(3, stride, "same")(x))
    # and the gradient flows to the input and the kernel
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(depthwise_conv(x, layer.kernel, stride, dilation) ** 2)
        y += tf.reduce_sum(max_pool(x, 3, stride))
    grad_x, grad_k = tape.gradient(y, [x, layer.kernel])
    assert float(tf.reduce_sum(tf.abs(grad_x))) > 0 and float(tf.reduce_sum(tf.abs(grad_k))) > 0


def test_a_mixed_op_is_the_weighted_sum_of_its_operations():
    x = tf.random.stateless_normal((2, 6, 6, 4), seed=(3, 4))
    mixed = MixedOp(("none", "skip", "avg_pool_3x3"), 4, 1)
    mixed.build(x.shape)
    out = mixed(x, tf.constant([0.5, 0.2, 0.3])).numpy()
    pool = keras.layers.AveragePooling2D(3, strides=1, padding="same")(x).numpy()
    np.testing.assert_allclose(out, 0.2 * x.numpy() + 0.3 * pool, rtol=1e-5, atol=1e-6)
    assert mixed.op_parameters() == [0, 0, 0]
    sep = MixedOp(("sep_conv_3x3",), 4, 1)
    sep.build(x.shape)
    assert sep.op_parameters() == [3 * 3 * 4 + 4 * 4 + 2 * 4]  # depthwise, pointwise, BN statistics (no affine)


def test_the_genotype_keeps_two_strongest_edges_per_node_and_never_none():
    ops_ = ("none", "skip", "sep_conv_3x3")
    w = np.full((num_edges(2), 3), 0.1)  # node 0: edges 0, 1; node 1: edges 2, 3, 4
    w[0] = [0.9, 0.05, 0.05]  # strongest is none: its best other op is weak (0.05)
    w[1] = [0.1, 0.6, 0.3]
    w[2] = [0.1, 0.2, 0.7]
    w[3] = [0.0, 0.5, 0.5]
    w[4] = [0.2, 0.7, 0.1]
    genotype = derive_genotype(w, 2, ops_)
    assert genotype == [["skip", 0], ["skip", 1], ["sep_conv_3x3", 0], ["skip", 2]]
    with pytest.raises(ValueError, match="weights must be"):
        derive_genotype(np.ones((4, 3)), 2, ops_)


def test_the_expected_parameters_are_softmax_weighted_and_their_gradient_favours_cheap_operations():
    alpha = tf.Variable(tf.zeros((3, 2)))
    table = tf.constant([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    with tf.GradientTape() as tape:
        value = expected_parameters((alpha,), (table,))
    assert float(value) == pytest.approx(0.5 * (1 + 2 + 3))
    grad = tape.gradient(value, alpha).numpy()
    # d/d alpha_expensive of softmax-weighted cost = p (1 - p) (c - 0) > 0: descent moves mass to the free op
    np.testing.assert_allclose(grad[:, 1], [0.25, 0.5, 0.75], rtol=1e-6)
    np.testing.assert_allclose(grad[:, 0], [-0.25, -0.5, -0.75], rtol=1e-6)


def test_a_derived_network_round_trips_through_its_config():
    genotype = {"normal": [["sep_conv_3x3", 0], ["skip", 1], ["dil_conv_3x3", 2], ["max_pool_3x3", 0]],
                "reduce": [["avg_pool_3x3", 0], ["skip", 1], ["sep_conv_3x3", 2], ["skip", 1]]}
    net = SearchedBackbone(genotype, channels=4, cells=3, nodes=2)
    x = np.random.default_rng(0).uniform(size=(2, 12, 12, 1)).astype("float32")
    y = net(x)
    assert tuple(y.shape) == (2, 2 * 4 * 4)  # two reductions double C twice; 2 nodes concatenated
    clone = SearchedBackbone.from_config(net.get_config())
    clone(x)
    clone.set_weights(net.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(y), rtol=1e-5, atol=1e-6)
    # TensorFlow's own window kernels (the search without XLA) compute the same network
    native = use_window_views(clone, False)
    assert not any(getattr(sub, "window_views", False) for sub in native._flatten_layers())
    np.testing.assert_allclose(np.asarray(native(x, training=False)), np.asarray(net(x, training=False)),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not an operation on an earlier node"):
        Cell(2, 4, False, False, genotype=[["skip", 0], ["skip", 3], ["skip", 0], ["skip", 1]])


def _scenario(tmp_path, **search) -> Scenario:
    return Scenario(name="tiny-search", data=Data(dataset="synthetic", num_train=384, num_test=128),
                    model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(32,)),
                    phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                            pilot_ofdm_symbol_indices=(2,)),
                    teacher=Teacher(name="oracle", cache_path=str(tmp_path / "c.h5")),
                    training=Training(jit_compile=False, epochs=1, batch_size=64), sweep=Sweep(ebno_db=(10.0,)),
                    search=Search(**{"channels": 4, "cells": 2, "nodes": 2, "epochs": 2, "batch_size": 32,
                                     "train_samples": 128, "validation_samples": 128, "selection_samples": 64,
                                     "lambdas": (0.0, 50.0),
                                     "retrain_epochs": 1, "jit_compile": False, **search}))


def _cache(path, dataset):
    logits = 4.0 * np.eye(10)[dataset.y_train]
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    values, indices = compress_topk(probs[:, None, :], 3)
    write_cache(path, topk_probs=values, topk_indices=indices, num_classes=10, dataset_name=dataset.name,
                dataset_fingerprint=dataset.fingerprint, teacher=TeacherIdentity("oracle", "0" * 64))


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("search")
    scenario = _scenario(tmp_path)
    _cache(tmp_path / "c.h5", load_dataset(scenario.data))
    lines = []
    summary = run_search(scenario, tmp_path / "out", log=lines.append)
    return tmp_path, scenario, summary, lines


@pytest.mark.slow
def test_a_tiny_search_writes_genotypes_a_pareto_file_and_provenance(searched):
    tmp_path, scenario, summary, lines = searched
    out = tmp_path / "out"
    with open(out / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == PARETO_COLUMNS
    assert [r["kind"] for r in rows] == ["hand-designed", "searched", "searched"]
    for r in rows[1:]:
        record = json.loads((out / r["genotype"]).read_text())
        assert record["provenance"]["search"]["lambdas"] == [0.0, 50.0]
        assert len(record["normal"]) == len(record["reduce"]) == 2 * 2
        assert all(op != "none" for op, _ in record["normal"] + record["reduce"])
        assert int(r["parameters"]) == record["derived"]["parameters"] > 0
        correct = round(float(r["accuracy"]) * 128)  # an accuracy over the 128 test samples, with its interval
        assert float(r["accuracy"]) == correct / 128 and len(record["history"]) == 2
        assert (float(r["ci_low"]), float(r["ci_high"])) == pytest.approx(wilson_interval(correct, 128))
    chosen = json.loads((out / "genotype.json").read_text())
    assert chosen["chosen_from"] == summary["chosen"]
    png = (out / "pareto.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # chosen on held-out training rows: the rule applied to pareto.csv's selection column picks it
    searched = [{**r, "selection_accuracy": float(r["selection_accuracy"]), "parameters": int(r["parameters"])}
                for r in rows[1:]]
    assert choose_genotype(searched, scenario.search.tolerance)["genotype"] == chosen["chosen_from"]
    assert chosen["selected_on"] == {"split": "held-out training rows", "rows": 64, "seed": 0,
                                     "accuracy": next(r["selection_accuracy"] for r in searched
                                                      if r["genotype"] == chosen["chosen_from"]),
                                     "tolerance": scenario.search.tolerance}
    assert any("epoch 2/2" in line for line in lines)


@pytest.mark.slow
def test_a_heavier_complexity_weight_lowers_the_expected_parameters(searched):
    tmp_path, _, _, _ = searched
    free = json.loads((tmp_path / "out" / "genotype-lambda0.json").read_text())
    costly = json.loads((tmp_path / "out" / "genotype-lambda50.json").read_text())
    assert costly["history"][-1]["expected_parameters_m"] < free["history"][-1]["expected_parameters_m"]


@pytest.mark.slow
def test_the_derived_encoder_sits_in_a_semantic_link(searched):
    tmp_path, scenario, _, _ = searched
    config = backbone_config(tmp_path / "out" / "genotype.json")
    model_cfg = Model(num_channel_uses=16, decoder_units=(32,), backbone="semcom_sim>SearchedBackbone",
                      backbone_config=config)
    link_scenario = Scenario(name="derived", data=scenario.data, model=model_cfg, phy=scenario.phy)
    model = build_model(link_scenario, num_classes=10)
    x = tf.constant(np.random.default_rng(1).uniform(size=(64, 28, 28, 1)).astype("float32"))
    out = model((x, tf.constant(10.0)), training=False)
    assert out["logits"].shape == (64, 10)
    assert type(model.encoder.backbone).__name__ == "SearchedBackbone"


@pytest.mark.slow
def test_search_bad_input_is_one_line(tmp_path, semcom_sim_main):
    with pytest.raises(ScenarioError, match="search.ops: must be 'none' and at least one of"):
        Search(ops=("skip",))
    with pytest.raises(ScenarioError, match="search.channels: must be even"):
        Search(channels=5)
    with pytest.raises(ScenarioError, match="genotype .* is missing: run semcom-sim search"):
        load_genotype(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ScenarioError, match="is not a genotype file"):
        load_genotype(tmp_path / "bad.json")
    scenario = tmp_path / "s.py"
    scenario.write_text("from semcom_sim import Scenario, Data, Search\n"
                        "scenario = Scenario(name='s', data=Data(dataset='synthetic', num_train=100, num_test=50),"
                        " search=Search(train_samples=80, validation_samples=80))\n")
    result = semcom_sim_main("search", scenario, "--out", tmp_path / "o")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "semcom-sim: error: search.train_samples + search.validation_samples + search.selection_samples = 5160 "
        "exceed the 100 training samples")
    assert not (tmp_path / "o").exists()


def test_the_operation_count_of_a_cell():
    assert num_edges(4) == 14 and num_edges(2) == 5 and math.isclose(len(OPS), 6)
    net = Network(4, 2, 2)
    assert net.reduction_indices == (1,) and Network(4, 3, 2).reduction_indices == (1, 2)


def test_precise_batch_norm_sets_the_average_batch_statistics_of_any_layer():
    from semcom_sim.train import precise_batch_norm

    layer = keras.Sequential([keras.layers.BatchNormalization(axis=-1)])
    layer.build((None, 3))
    inputs = np.random.default_rng(0).normal(loc=[1.0, -2.0, 5.0], scale=[1.0, 2.0, 0.5], size=(256, 3))
    assert precise_batch_norm(layer, inputs.astype("float32"), np.arange(256), 64, seed=0, jit_compile=False) == 1
    bn = layer.layers[0]
    np.testing.assert_allclose(bn.moving_mean.numpy(), inputs.mean(axis=0), rtol=1e-4, atol=1e-4)
    batch_vars = [inputs[i:i + 64].var(axis=0) for i in range(0, 256, 64)]  # every batch once, in some order
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean(batch_vars, axis=0), rtol=2e-2)


@pytest.mark.slow
def test_a_search_part_is_a_picklable_job_that_measures_the_network_the_search_measured(searched):
    tmp_path, scenario, summary, _ = searched
    job = pickle.loads(pickle.dumps(SearchJob(scenario, load_dataset(scenario.data), None)))  # as a worker gets it
    assert job.scenario == scenario and job.lam is None
    found, measured = job(log=lambda s: None)
    reference = next(r for r in summary["pareto"] if r["kind"] == "hand-designed")
    assert found is None and measured["parameters"] == reference["parameters"]
    correct = round(measured["accuracy"] * 128)
    assert measured["accuracy"] == correct / 128
    assert (measured["ci_low"], measured["ci_high"]) == pytest.approx(wilson_interval(correct, 128))
    assert 0.0 <= measured["selection_accuracy"] <= 1.0 and round(measured["selection_accuracy"] * 64, 9) % 1 == 0
    # (the accuracy itself is not compared: TensorFlow's oneDNN CPU kernels do not round the same way on
    # every call, and this tiny network's accuracy moves with that; docs/scaling.md)


@pytest.mark.slow
def test_the_search_step_reuses_a_finished_search_of_the_same_configuration_for_the_searched_scheme(searched):
    import shutil

    from semcom_sim.experiment import Experiment
    from semcom_sim.steps import search_step
    from semcom_sim.studies import run_studies

    tmp_path, scenario, _, _ = searched
    run = tmp_path / "run-reuse"
    shutil.copytree(tmp_path / "out", run / "search")
    genotype = run / "search" / "genotype.json"
    before = genotype.stat().st_mtime_ns
    dataset = load_dataset(scenario.data)
    assert search_step(scenario, ("proposed",), dataset, run) is scenario  # no scheme reads the search
    lines = []
    patched = search_step(scenario, ("proposed", "rkd-sc"), dataset, run, log=lines.append)
    assert Path(patched.search.genotype) == genotype and genotype.stat().st_mtime_ns == before
    assert lines == [f"[search] reusing the finished search of this configuration in {run / 'search'}"]
    # the orchestrator resolves rkd-sc with the run directory's genotype
    own = scenario.patched(sweep=Sweep(ebno_db=(10.0,), schemes=("rkd-sc",)))
    experiment = Experiment.open(own, run, studies=run_studies(own), log=lambda s: None)
    trained = experiment.base["rkd-sc"].model
    assert trained.backbone == "semcom_sim>SearchedBackbone"
    assert trained.backbone_config == backbone_config(genotype)


@pytest.mark.slow
def test_the_search_step_refuses_a_finished_search_of_another_configuration(searched):
    import shutil

    from semcom_sim.steps import search_step

    tmp_path, scenario, _, _ = searched
    run = tmp_path / "run-other"
    shutil.copytree(tmp_path / "out", run / "search")
    other = scenario.patched(search=Search(**{**scenario.search.__dict__, "lambdas": (0.0, 40.0)}))
    with pytest.raises(ScenarioError, match=r"^search: .*run-other/search holds a search of another configuration "
                                            r"\(search\.lambdas differ\); remove it or choose another directory$"):
        search_step(other, ("rkd-sc",), load_dataset(scenario.data), run)


def test_only_a_scheme_whose_patch_reads_the_search_section_takes_the_searched_encoder():
    from semcom_sim.schemes import BUILTIN_NAMES
    from semcom_sim.steps import reads_search

    scenario = Scenario(name="s")
    assert [name for name in BUILTIN_NAMES if reads_search(scenario, name)] == ["rkd-sc"]


def test_the_chosen_genotype_is_the_smallest_within_tolerance_of_the_best_held_out_accuracy():
    candidates = [{"genotype": "a", "parameters": 900, "selection_accuracy": 0.850, "accuracy": 0.70},
                  {"genotype": "b", "parameters": 500, "selection_accuracy": 0.846, "accuracy": 0.90},
                  {"genotype": "c", "parameters": 300, "selection_accuracy": 0.844, "accuracy": 0.99}]
    assert choose_genotype(candidates, 0.005)["genotype"] == "b"  # c is 0.006 below the best; test accuracy unread
    assert choose_genotype(candidates, 0.0)["genotype"] == "a"
    assert choose_genotype(candidates, 0.01)["genotype"] == "c"
    tied = [{"genotype": "x", "parameters": 10, "selection_accuracy": 0.5},
            {"genotype": "y", "parameters": 10, "selection_accuracy": 0.5}]
    assert choose_genotype(tied, 0.0)["genotype"] == "x"
    with pytest.raises(ValueError, match="no candidates"):
        choose_genotype([], 0.005)


def test_the_selection_rows_are_training_rows_disjoint_from_both_search_splits():
    from semcom_sim.search import _splits

    dataset = load_dataset(Data(dataset="synthetic", num_train=384, num_test=64))
    cfg = Search(train_samples=128, validation_samples=128, selection_samples=64)
    weights, arch, selection = _splits(dataset, cfg, 0)
    assert (weights.size, arch.size, selection.size) == (128, 128, 64)
    assert not set(weights) & set(arch) and not set(selection) & (set(weights) | set(arch))
    assert selection.max() < dataset.num_train
    # the search's own splits do not depend on how many rows are held out for the selection
    more = _splits(dataset, Search(train_samples=128, validation_samples=128, selection_samples=100), 0)
    assert np.array_equal(more[0], weights) and np.array_equal(more[1], arch)


SCENARIO_FILE = """\
from semcom_sim import Data, Model, Phy, Scenario, Search, Sweep, Teacher, Training

scenario = Scenario(
    name="tiny-search", data=Data(dataset="synthetic", num_train=384, num_test=128),
    model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(32,)),
    phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7, pilot_ofdm_symbol_indices=(2,)),
    teacher=Teacher(name="oracle", cache_path={cache!r}),
    training=Training(jit_compile=False, epochs=1, batch_size=64), sweep=Sweep(ebno_db=(10.0,)),
    search=Search(channels=4, cells=2, nodes=2, epochs=2, batch_size=32, train_samples=128, validation_samples=128,
                  selection_samples=64, lambdas=(0.0,), retrain_epochs=1, jit_compile=False),
)
"""


def _searched_record(path: Path) -> dict:
    """A genotype file without what a clock or a commit writes."""
    record = json.loads(path.read_text())
    for key in ("provenance", "search_seconds"):
        record.pop(key)
    record["derived"].pop("retrain_seconds")
    record["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in record["history"]]
    return record


@pytest.mark.slow
def test_a_search_killed_in_the_middle_resumes_to_the_same_genotypes(searched, tmp_path, semcom_sim_main):
    from conftest import killed_once_written

    fixture_dir, scenario, _, _ = searched
    scenario_path = tmp_path / "search.py"
    scenario_path.write_text(SCENARIO_FILE.format(cache=str(fixture_dir / "c.h5")))
    out = tmp_path / "run"
    parts = out / "search" / "parts"
    command = [sys.executable, "-m", "semcom_sim.cli", "search", scenario_path, "--out", out]
    with killed_once_written(command, parts / "lambda0.search.state.npz", cwd=ROOT):  # lambda = 0 finished an epoch
        pass
    assert (parts / "reference.json").is_file() and not (out / "search" / "genotype.json").exists()

    resumed = semcom_sim_main("search", scenario_path, "--out", out)
    assert resumed.returncode == 0, resumed
    assert "reusing the finished reference" in resumed.stdout
    assert "[search lambda=0] resuming from" in resumed.stdout
    assert not parts.exists()
    for name in ("genotype-lambda0.json",):  # a part depends on its own lambda, not on the others searched
        got, expected = _searched_record(out / "search" / name), _searched_record(fixture_dir / "out" / name)
        # the losses summed in this process may differ in the last bits (oneDNN's CPU kernels do not round the same
        # way on every call; docs/scaling.md); the architecture weights, genotypes and derived networks may not
        assert got.pop("history") == [pytest.approx(h, rel=1e-6) for h in expected.pop("history")], name
        assert got == expected, name
