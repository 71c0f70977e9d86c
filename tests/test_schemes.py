"""Schemes are data: built-in and scenario-defined schemes are patches of scenario fields."""

import csv
import dataclasses
import json
import re

import pytest

from semcom_sim import (
    Compare,
    Model,
    Phy,
    Ref,
    Scenario,
    ScenarioError,
    Scheme,
    Sweep,
    Training,
    apply_overrides,
    load_scenario,
)
from semcom_sim.experiment import run
from semcom_sim.schemes import BUILTIN_NAMES, BUILTIN_SCHEMES, resolve_scheme, resolve_test_scenario, scheme_table

WIDE = Scheme("wide-decoder", {"model.decoder_units": (64, 64)}, description="a wider decoder")


def _one_line_error(fn) -> str:
    with pytest.raises(ScenarioError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_builtin_table_is_the_one_list_of_scheme_names():
    assert BUILTIN_NAMES == tuple(s.name for s in BUILTIN_SCHEMES)
    # compare's default: every built-in scheme but RKD-SC's (which need a feature cache and a genotype) and the PUSCH
    # reference (which needs the uplink)
    assert Compare().schemes == tuple(n for n in BUILTIN_NAMES if not n.startswith("rkd-sc") and n != "pusch")
    assert "pusch" in BUILTIN_NAMES
    assert {"rkd-sc", "rkd-sc-handcrafted", "rkd-sc-one-stage", "rkd-sc-dense-codec"} <= set(BUILTIN_NAMES)
    assert all(s.description for s in BUILTIN_SCHEMES)


def test_a_scenario_overrides_a_builtin_scheme_by_extending_its_patch():
    base = Scenario(name="r", training=Training(jit_compile=False, epochs=4), model=Model(num_channel_uses=32))
    assert resolve_scheme(base, "fixed-snr").training.ebno_db_range == (10.0, 10.0)
    assert resolve_scheme(base, "online-kd").training.epochs == 4  # the scenario's own epochs
    digital = resolve_scheme(base, "digital")
    assert digital.phy.num_bits_per_symbol == 4.0 and isinstance(digital.phy.num_bits_per_symbol, float)
    assert resolve_scheme(base, "adaptive-length").model.lengths == base.model.auto_lengths  # a Ref of the model
    own = (Scheme("fixed-snr", {"training.ebno_db_range": (3.5, 3.5)}, description="trained at 3.5 dB"),
           Scheme("online-kd", {"training.epochs": 2}))
    scenario = dataclasses.replace(base, schemes=own)
    fixed = resolve_scheme(scenario, "fixed-snr")
    assert fixed.training.ebno_db_range == (3.5, 3.5)
    assert fixed.model.adaptive is False and fixed.training.distillation == "none"  # the built-in patch stays
    assert resolve_scheme(scenario, "online-kd").training.epochs == 2
    assert scheme_table(scenario)["fixed-snr"].description == "trained at 3.5 dB"
    assert scheme_table(scenario)["online-kd"].description == scheme_table(base)["online-kd"].description
    with pytest.raises(ScenarioError, match="'online-kd' is defined twice"):
        dataclasses.replace(base, schemes=own + (Scheme("online-kd", {}),))


@pytest.mark.parametrize("old, override", [("fixed_ebno_db", "Scheme('fixed-snr'"),
                                           ("digital_num_bits_per_symbol", "Scheme('digital'"),
                                           ("digital_bits_per_symbol", "Scheme('digital'"),
                                           ("online_kd_epochs", "Scheme('online-kd'"),
                                           ("lengths", "Scheme('adaptive-length'"),
                                           ("policy_validation_samples", "Scheme('adaptive-length'"),
                                           ("rkd_feature_kd_weight", "Scheme('rkd-sc'")])
def test_a_knob_moved_into_its_scheme_names_the_override(old, override):
    expected = rf"^compare\.{old}: now a patch of the scheme that reads it; give the scenario schemes=\(" + re.escape(
        override)
    with pytest.raises(ScenarioError, match=expected):
        Compare(**{old: 4})  # in a scenario file
    with pytest.raises(ScenarioError, match=expected):
        apply_overrides(Scenario(name="s"), [f"compare.{old}=4"])  # --set
    with pytest.raises(ScenarioError, match=expected):
        Scenario.from_dict({"name": "s", "compare": {old: 4}})  # an older scenario.json


def test_a_scenario_defines_its_own_scheme_and_names_it_like_a_builtin():
    scenario = Scenario(name="c", schemes=(WIDE,), sweep=Sweep(schemes=("proposed", "wide-decoder")))
    resolved = resolve_scheme(scenario, "wide-decoder")
    assert resolved.model.decoder_units == (64, 64)
    assert resolved.model.encoder_filters == scenario.model.encoder_filters
    assert resolved.fingerprint() != scenario.fingerprint()
    # the scenario round-trips through its dict (scenario.json, --set) with its schemes
    again = Scenario.from_dict(json.loads(scenario.to_json()))
    assert again == scenario
    assert apply_overrides(scenario, ["model.decoder_units=(16,)"]).schemes == (WIDE,)


def test_bad_scheme_patches_fail_when_the_scenario_is_built_naming_scheme_and_field():
    bad_field = Scheme("x", {"model.decoder_unitz": (8,)})
    message = _one_line_error(lambda: Scenario(name="b", schemes=(bad_field,)))
    assert message.startswith("scheme 'x': 'model.decoder_unitz': unknown field; model has ")
    bad_value = Scheme("y", {"phy.channel": "TDL-Z"})
    message = _one_line_error(lambda: Scenario(name="b", schemes=(bad_value,)))
    assert message.startswith("scheme 'y': phy.channel: 'TDL-Z' is not one of AWGN")
    bad_section = Scheme("z", {"radio.power": 1.0})
    assert "unknown section 'radio'" in _one_line_error(lambda: Scenario(name="b", schemes=(bad_section,)))
    bad_ref = Scheme("r", {"training.epochs": Ref("compare.epochz")})
    assert "'compare.epochz' is not a field" in _one_line_error(lambda: Scenario(name="b", schemes=(bad_ref,)))
    # a cross-section rule holds for the patched scenario too
    too_long = Scheme("long", {"model.num_channel_uses": 10_000})
    assert "model.num_channel_uses" in _one_line_error(lambda: Scenario(name="b", schemes=(too_long,)))


def test_scheme_names_are_checked_against_the_builtin_and_the_scenarios_own():
    message = _one_line_error(lambda: Scenario(name="n", sweep=Sweep(schemes=("wide-decoder",))))
    assert message.startswith("sweep.schemes: 'wide-decoder' is not one of proposed, no-adaptive")
    message = _one_line_error(lambda: Scenario(name="n", compare=Compare(schemes=("proposed", "magic"))))
    assert message.startswith("compare.schemes: 'magic'")
    override = Scheme("no-kd", {"training.epochs": 1})  # a built-in name: an override, not a clash
    assert resolve_scheme(Scenario(name="n", schemes=(override,)), "no-kd").training.epochs == 1
    assert "defined twice" in _one_line_error(lambda: Scenario(name="n", schemes=(WIDE, WIDE)))
    assert "changes only phy" in _one_line_error(lambda: Scheme("t", test_patch={"model.adaptive": False}))
    assert "mapping" in _one_line_error(lambda: Scheme("t", patch=[("model.adaptive", False)]))


def test_test_patch_changes_only_the_evaluation_phy():
    late = Scheme("late-feedback", {}, test_patch={"phy.snr_feedback_delay_ms": 5.0})
    scenario = Scenario(name="t", schemes=(late,), sweep=Sweep(schemes=("late-feedback",)))
    assert resolve_scheme(scenario, "late-feedback").phy.snr_feedback_delay_ms == 0.0
    assert resolve_test_scenario(scenario, "late-feedback").phy.snr_feedback_delay_ms == 5.0


@pytest.mark.slow
def test_a_scenario_file_with_its_own_scheme_runs_trains_and_reuses_its_checkpoint(tmp_path):
    path = tmp_path / "custom_scheme.py"
    path.write_text(
        "from semcom_sim import Data, Model, Phy, Scenario, Scheme, Sweep, Training\n"
        "narrow = Scheme('narrow', {'model.decoder_units': (8,)}, test_patch={'phy.csi': 'perfect'})\n"
        "scenario = Scenario(name='custom', schemes=(narrow,), data=Data(dataset='synthetic', num_train=256, "
        "num_test=128), model=Model(num_channel_uses=16, encoder_filters=(4, 8), decoder_units=(16,)),\n"
        "    phy=Phy(channel='AWGN', csi='ls', fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,\n"
        "            pilot_ofdm_symbol_indices=(2,)),\n"
        "    training=Training(jit_compile=False, epochs=1, batch_size=64),\n"
        "    sweep=Sweep(ebno_db=(10.0,), min_samples=128, "
        "max_samples=128, batch_size=128, schemes=('proposed', 'narrow')))\n")
    scenario = load_scenario(path)
    out = tmp_path / "out"
    lines = []
    run(scenario, out, show_progress=False, log=lines.append)
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert sorted(r["scheme"] for r in rows) == ["narrow", "proposed"]
    # the scheme's test patch is its evaluation condition, and its rows say so
    assert {r["scheme"]: (r["channel"], r["csi"], r["variant"]) for r in rows} == {
        "proposed": ("AWGN", "ls", ""), "narrow": ("AWGN", "perfect", "")}
    summary = (out / "summary.md").read_text()
    assert "Channel AWGN, LS CSI (test patches: narrow under AWGN, perfect CSI)" in summary
    assert "| proposed | narrow |" in summary
    meta = [json.loads(p.read_text()) for p in (out / "checkpoints").glob("narrow-*.json")]
    assert len(meta) == 1 and meta[0]["scenario"]["model"]["decoder_units"] == [8]
    assert meta[0]["scenario"]["schemes"][0]["name"] == "narrow"
    lines.clear()
    run(scenario, out, show_progress=False, log=lines.append)
    assert sum("reusing checkpoint" in line for line in lines) == 2


def test_antenna_schemes_carry_the_built_in_patch_and_the_arrays_of_each_configuration():
    from semcom_sim.schemes import antenna_schemes

    arrays = {"1x4": {"num_bs_ant": 4}, "2x4-2": {"num_ut_ant": 2, "num_bs_ant": 4, "num_streams": 2}}
    schemes = antenna_schemes(("proposed", "adaptive-length"), arrays)
    assert [s.name for s in schemes] == ["proposed-1x4", "adaptive-length-1x4", "proposed-2x4-2",
                                         "adaptive-length-2x4-2"]
    base = Scenario(name="a", phy=Phy(channel="CDL-C", direction="uplink", csi="ls"), schemes=schemes)
    nested = resolve_scheme(base, "adaptive-length-2x4-2")
    assert nested.model.lengths == resolve_scheme(base, "adaptive-length").model.lengths  # the built-in patch...
    assert (nested.phy.num_tx_ant, nested.phy.num_rx_ant, nested.phy.num_streams) == (2, 4, 2)  # ...and the arrays
    assert resolve_scheme(base, "proposed-1x4").phy.num_rx_ant == 4 and base.phy.num_rx_ant == 1
    with pytest.raises(ScenarioError, match=r"^antenna_schemes: 'magic' is not a built-in scheme; one of proposed, "):
        antenna_schemes(("magic",), arrays)
