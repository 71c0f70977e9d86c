"""The teacher caches committed with the repo match the data of the scenarios that use them."""

from pathlib import Path

import numpy as np
import pytest

from semcom_sim import load_scenario
from semcom_sim.data import load_dataset
from semcom_sim.teacher import TeacherCache

ROOT = Path(__file__).resolve().parents[2]
KD_SCENARIOS = ["scenarios/fmnist_kd.py", "scenarios/wordnet_kd.py", "scenarios/compare_fashion_mnist.py",
                "scenarios/compare_wordnet.py"]


@pytest.mark.parametrize("scenario_file", KD_SCENARIOS)
def test_committed_cache_matches_its_scenario(scenario_file, monkeypatch):
    monkeypatch.chdir(ROOT)
    scenario = load_scenario(ROOT / scenario_file)
    dataset = load_dataset(scenario.data)
    path = scenario.teacher.resolved_cache_path(dataset.name)
    assert path.is_file(), f"{path} must be committed: semcom-sim teacher cache {scenario_file}"
    cache = TeacherCache(path, dataset_fingerprint=dataset.fingerprint, teacher_name=scenario.teacher.name)
    manifest = cache.manifest
    assert manifest["dataset"]["name"] == dataset.name
    assert manifest["dataset"]["num_samples"] == cache.num_samples == dataset.x_train.shape[0]
    assert cache.top_k == scenario.teacher.top_k and cache.num_classes == dataset.num_classes
    assert np.array_equal(cache.sample_ids, np.arange(dataset.x_train.shape[0]))
    # a teacher worth distilling: its top-1 agrees with the labels on most training samples
    agreement = np.mean(cache.topk_indices[:, 0, 0] == dataset.y_train)
    assert agreement > 0.7, agreement
    assert path.stat().st_size < 5_000_000  # small enough to live in the repository
