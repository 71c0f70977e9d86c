"""A researcher's own encoder backbone and scheme, from a scenario file, through `run` and `compare`."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from semcom_sim import Model, Scenario, ScenarioError, load_scenario
from semcom_sim.experiment import compare, run
from semcom_sim.results import read_cost, read_results
from semcom_sim.system import build_model

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "custom_encoder.py"
TINY = ["data.dataset=synthetic", "data.num_train=256", "data.num_test=128", "model.num_channel_uses=16",
        "phy.fft_size=36", "phy.num_guard_carriers=(2, 3)", "phy.num_ofdm_symbols=7",
        "phy.pilot_ofdm_symbol_indices=(2,)", "training.epochs=1", "training.batch_size=64",
        "sweep.ebno_db=(10.0,)", "sweep.min_samples=128", "sweep.max_samples=128", "sweep.batch_size=128",
        "compare.conditions=('TDL-A/ls',)", "compare.feedback_bits=(2,)", "compare.data_fractions=(1.0,)",
        "compare.fraction_ebno_db=(10.0,)", "compare.monitor_samples=64", "compare.latency_runs=2",
        "compare.feedback_delay_ms=()", "compare.robustness_schemes=()",
        "training.jit_compile=false"]  # XLA compilation would be most of these seconds; other tests cover it


def test_the_custom_backbone_sits_in_front_of_the_gaussian_head():
    scenario = load_scenario(SCENARIO, TINY)
    model = build_model(scenario, num_classes=10)
    backbone = model.encoder.backbone
    assert type(backbone).__name__ == "SeparableBackbone" and backbone.filters == (32, 64)
    assert model.encoder.head.mu.kernel.shape == (64, 32)  # pooled 64 features -> 2 x 16 channel uses
    # the layer round-trips through its config, with the same outputs
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    clone = type(backbone).from_config(backbone.get_config())
    clone(x)
    clone.set_weights(backbone.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(backbone(x)), rtol=1e-6)
    # its configuration is part of the checkpoint fingerprint
    other = load_scenario(SCENARIO, TINY + ["model.backbone_config={'filters': [16, 64]}"])
    assert other.fingerprint() != scenario.fingerprint()


def test_a_custom_backbone_and_scheme_run_reuse_checkpoints_and_compare(tmp_path):
    scenario = load_scenario(SCENARIO, TINY)
    out = tmp_path / "run"
    run(scenario, out, show_progress=False, log=lambda s: None)
    rows = read_results(out / "results.csv")
    assert sorted(r["scheme"] for r in rows) == ["proposed", "wide-decoder"]
    meta = {p.name.split("-")[0]: json.loads(p.read_text()) for p in (out / "checkpoints").glob("*.json")}
    assert meta["proposed"]["scenario"]["model"]["backbone"] == "custom_encoder>SeparableBackbone"
    lines = []
    run(scenario, out, show_progress=False, log=lines.append)
    assert sum("reusing checkpoint" in line for line in lines) == 2
    assert read_results(out / "results.csv") == rows  # the finished points are reused, not recomputed

    lines = []  # a comparison holds out its monitor's training rows: it trains models of its own, not the run's
    comparison = compare(scenario, out, show_progress=False, log=lines.append)
    assert not any("reusing checkpoint" in line for line in lines)
    held = [json.loads(p.read_text())["scenario"]["training"]["validation_samples"]
            for p in (out / "checkpoints").glob("*.json")]
    assert sorted(held) == [0, 0] + [scenario.compare.monitor_samples] * 3  # the run's two, the comparison's three
    schemes = {r["scheme"] for r in read_results(comparison.out_dir / "results.csv")}
    assert schemes == {"proposed", "no-adaptive", "wide-decoder"}
    cost = {r["scheme"]: r for r in read_cost(comparison.out_dir / "cost.csv")}
    assert cost["wide-decoder"]["parameters"] > cost["proposed"]["parameters"]
    assert "wide-decoder" in (comparison.out_dir / "summary.md").read_text()


def test_an_unregistered_backbone_is_a_one_line_error_naming_the_field(tmp_path):
    with pytest.raises(ScenarioError, match=r"^model\.backbone: 'nowhere>Nothing' is not a registered Keras layer"):
        build_model(Scenario(name="x", model=Model(backbone="nowhere>Nothing")), num_classes=10)
    with pytest.raises(ScenarioError, match=r"^model\.backbone: expected a registered name"):
        Model(backbone="Nothing")
    with pytest.raises(ScenarioError, match=r"^model\.backbone_config: configures model\.backbone"):
        Model(backbone_config={"filters": [8]})
    load_scenario(SCENARIO, TINY)  # executing the scenario file registers its layer
    assert keras.saving.get_registered_object("custom_encoder>SeparableBackbone") is not None
    proc = subprocess.run([sys.executable, "-m", "semcom_sim.cli", "train", str(SCENARIO), "--out", str(tmp_path),
                           *[w for o in TINY for w in ("--set", o)], "--set", "model.backbone_config={'width': 3}"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("semcom-sim: error: model.backbone_config: ")
    assert not list(tmp_path.glob("checkpoints/*.weights.h5"))
