"""Tests of the typed scenario: shipped files load, bad values fail with one line naming the field,
``--set`` overrides, fingerprints, serialisation and scenario-file errors. Pure Python, no TensorFlow."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from semcom_sim import (
    Data,
    Model,
    Output,
    Phy,
    Scenario,
    ScenarioError,
    Sweep,
    Teacher,
    Training,
    apply_overrides,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.py"))
TINY = ROOT / "scenarios" / "tiny_synthetic.py"


def _error(fn, where: str) -> str:
    """Runs ``fn``; asserts a one-line ScenarioError that starts with ``where:`` (or ``where[i]:``)."""
    with pytest.raises(ScenarioError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    pattern = re.escape(where) + r"(\[\d+\])?: \S"
    assert re.match(pattern, message), f"expected '{where}: ...', got {message!r}"
    return message


@pytest.fixture
def tiny() -> Scenario:
    return load_scenario(TINY)


# -- shipped scenarios ---------------------------------------------------------------------------

def test_scenario_files_are_shipped():
    names = {p.name for p in SCENARIO_FILES}
    assert {"quickstart.py", "tiny_synthetic.py"} <= names


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name.strip()
    assert scenario.model.num_channel_uses <= scenario.phy.num_data_symbols
    # the documented CLI entry point accepts it with overrides too
    assert load_scenario(path, ["training.epochs=1"]).training.epochs == 1


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_to_dict_from_dict_round_trip(path):
    scenario = load_scenario(path)
    assert Scenario.from_dict(scenario.to_dict()) == scenario
    # through JSON too (tuples come back as lists and are converted again)
    again = Scenario.from_dict(json.loads(scenario.to_json()))
    assert again == scenario
    assert again.fingerprint() == scenario.fingerprint()
    assert isinstance(again.sweep.ebno_db, tuple)


# -- invalid values: one line, "section.field: why" ------------------------------------------------

def test_unknown_channel_lists_the_channels():
    message = _error(lambda: Phy(channel="TDL-Z"), "phy.channel")
    assert "TDL-Z" in message
    assert "AWGN, Rayleigh, TDL-A..E, CDL-A..E" in message


def test_unknown_channel_through_overrides(tiny):
    message = _error(lambda: apply_overrides(tiny, ["phy.channel=TDL-Z"]), "phy.channel")
    assert "AWGN, Rayleigh, TDL-A..E, CDL-A..E" in message


@pytest.mark.parametrize("make, where", [
    (lambda: Training(batch_size=-3), "training.batch_size"),
    (lambda: Training(batch_size=0), "training.batch_size"),
    (lambda: Sweep(batch_size=-1), "sweep.batch_size"),
    (lambda: Training(epochs=0), "training.epochs"),
    (lambda: Training(learning_rate=-1e-3), "training.learning_rate"),
    (lambda: Model(num_channel_uses=-4), "model.num_channel_uses"),
    (lambda: Data(num_train=-10), "data.num_train"),
])
def test_non_positive_sizes_are_rejected(make, where):
    assert "must be > 0" in _error(make, where)


@pytest.mark.parametrize("make, where", [
    (lambda: Sweep(ebno_db=(0.0, math.nan)), "sweep.ebno_db"),
    (lambda: Sweep(ebno_db=(math.inf,)), "sweep.ebno_db"),
    (lambda: Training(ebno_db_range=(math.nan, 10.0)), "training.ebno_db_range"),
    (lambda: Training(ebno_db_range=(0.0, math.nan)), "training.ebno_db_range"),
])
def test_nan_and_inf_are_rejected(make, where):
    assert "finite" in _error(make, where)


def test_nan_through_overrides(tiny):
    _error(lambda: apply_overrides(tiny, ["sweep.ebno_db=[0, nan]"]), "sweep.ebno_db")
    _error(lambda: apply_overrides(tiny, ["training.ebno_db_range=(nan, 3)"]), "training.ebno_db_range")
    _error(lambda: apply_overrides(tiny, ["training.learning_rate=inf"]), "training.learning_rate")


def test_low_above_high_is_rejected():
    assert "low" in _error(lambda: Training(ebno_db_range=(10.0, 0.0)), "training.ebno_db_range")
    assert "low" in _error(lambda: Phy(snr_feedback_range_db=(30.0, -10.0)), "phy.snr_feedback_range_db")
    _error(lambda: Phy(snr_feedback_range_db=(5.0, 5.0)), "phy.snr_feedback_range_db")
    assert Training(ebno_db_range=(5.0, 5.0)).ebno_db_range == (5.0, 5.0)  # a single training SNR is fine
    _error(lambda: Sweep(min_samples=2000, max_samples=1000), "sweep.min_samples")


@pytest.mark.parametrize("indices", [(2, 14), (-1, 3), (2, 2), ()])
def test_pilot_index_out_of_range(indices):
    message = _error(lambda: Phy(num_ofdm_symbols=14, pilot_ofdm_symbol_indices=indices),
                     "phy.pilot_ofdm_symbol_indices")
    assert "0..13" in message or "at least one" in message


def test_pilots_may_not_fill_the_frame():
    _error(lambda: Phy(num_ofdm_symbols=2, pilot_ofdm_symbol_indices=(0, 1)), "phy.pilot_ofdm_symbol_indices")


def test_ls_csi_needs_pilots():
    message = _error(lambda: Phy(pilot_pattern="empty", csi="ls"), "phy.csi")
    assert "pilot_pattern" in message


def test_pilot_snr_estimator_needs_pilots():
    _error(lambda: Phy(pilot_pattern="empty", csi="perfect", snr_estimator="pilots"), "phy.snr_estimator")
    Phy(pilot_pattern="empty", csi="perfect", snr_estimator="genie")  # fine


def test_pilot_snr_estimator_needs_null_subcarriers():
    message = _error(lambda: Phy(num_guard_carriers=(0, 0), dc_null=False, snr_estimator="pilots"),
                     "phy.snr_estimator")
    assert "null" in message
    Phy(num_guard_carriers=(0, 0), dc_null=False, snr_estimator="genie")  # fine
    Phy(num_guard_carriers=(0, 0), dc_null=True, snr_estimator="pilots")  # the DC null is enough


def test_num_channel_uses_must_fit_in_a_frame():
    phy = Phy()
    assert phy.num_data_symbols == (72 - 5 - 6 - 1) * (14 - 2)
    Scenario(name="fits", model=Model(num_channel_uses=phy.num_data_symbols), phy=phy)  # boundary
    message = _error(lambda: Scenario(name="too-big", model=Model(num_channel_uses=phy.num_data_symbols + 1),
                                      phy=phy), "model.num_channel_uses")
    assert str(phy.num_data_symbols) in message


def test_num_channel_uses_through_overrides(tiny):
    _error(lambda: apply_overrides(tiny, ["model.num_channel_uses=100000"]), "model.num_channel_uses")
    # shrinking the grid below the model's needs is caught too
    _error(lambda: apply_overrides(tiny, ["phy.fft_size=8", "phy.num_guard_carriers=(1, 1)"]),
           "model.num_channel_uses")


def test_unknown_scheme():
    # a scheme name is checked by the scenario, which knows its own schemes beside the built-in ones
    message = _error(lambda: Scenario(name="u", sweep=Sweep(schemes=("proposed", "magic"))), "sweep.schemes")
    assert "magic" in message and "proposed" in message and "no-adaptive" in message


def test_other_choice_fields():
    _error(lambda: Data(dataset="cifar"), "data.dataset")
    _error(lambda: Phy(csi="mmse"), "phy.csi")
    _error(lambda: Phy(interpolation="cubic"), "phy.interpolation")
    _error(lambda: Phy(pilot_pattern="comb"), "phy.pilot_pattern")
    _error(lambda: Training(distillation="magic"), "training.distillation")
    _error(lambda: Training(train_fraction=0.0), "training.train_fraction")
    _error(lambda: Training(kd_temperature=0.0), "training.kd_temperature")
    _error(lambda: Teacher(top_k=0), "teacher.top_k")
    _error(lambda: Sweep(confidence=1.0), "sweep.confidence")
    _error(lambda: Sweep(ebno_db=(1.0, 1.0)), "sweep.ebno_db")
    _error(lambda: Sweep(ebno_db=()), "sweep.ebno_db")


@pytest.mark.parametrize("make, where", [
    (lambda: Training(epochs="5"), "training.epochs"),
    (lambda: Training(epochs=5.5), "training.epochs"),
    (lambda: Training(learning_rate="fast"), "training.learning_rate"),
    (lambda: Phy(channel=3), "phy.channel"),
    (lambda: Phy(dc_null=1), "phy.dc_null"),
    (lambda: Phy(num_guard_carriers=(1, 2, 3)), "phy.num_guard_carriers"),
    (lambda: Model(encoder_filters="32,64"), "model.encoder_filters"),
    (lambda: Model(encoder_filters=(32, "64")), "model.encoder_filters"),
    (lambda: Data(num_train="all"), "data.num_train"),
])
def test_wrong_types(make, where):
    _error(make, where)


@pytest.mark.parametrize("make, where", [
    (lambda: Training(epochs=True), "training.epochs"),
    (lambda: Sweep(batch_size=False), "sweep.batch_size"),
    (lambda: Data(num_train=True), "data.num_train"),
    (lambda: Training(learning_rate=True), "training.learning_rate"),
])
def test_bool_is_not_a_number(make, where):
    _error(make, where)


def test_integral_float_is_accepted_for_int():
    assert Training(epochs=3.0).epochs == 3
    assert type(Training(epochs=3.0).epochs) is int
    assert Training(learning_rate=1).learning_rate == 1.0
    assert type(Training(learning_rate=1).learning_rate) is float


def test_scenario_level_errors():
    _error(lambda: Scenario(name=""), "name")
    _error(lambda: Scenario(name="x", phy=Training()), "phy")
    _error(lambda: Scenario.from_dict({"name": "x", "radio": {}}), "radio")
    _error(lambda: Scenario.from_dict({"name": "x", "phy": {"chanel": "AWGN"}}), "phy.chanel")
    _error(lambda: Scenario.from_dict({"name": "x", "phy": "AWGN"}), "phy")


# -- overrides -------------------------------------------------------------------------------------

def test_override_parsing(tiny):
    s = apply_overrides(tiny, [
        "training.epochs=3",                    # int
        "training.learning_rate=2e-3",          # float
        "phy.num_guard_carriers=(3, 4)",        # tuple
        "model.decoder_units=[64, 32]",         # list -> tuple
        "sweep.ebno_db=range(0, 10, 5)",        # range(...)
        "data.num_train=none",                  # none
        "phy.snr_feedback_bits=None",
        "model.adaptive=false",                 # false / true
        "training.jit_compile=true",
        "phy.channel=CDL-C",                    # bare strings
        "phy.direction=uplink",
        "output.out_dir=runs/my-run",
        "name=renamed run",
    ])
    assert s.training.epochs == 3 and type(s.training.epochs) is int
    assert s.training.learning_rate == pytest.approx(2e-3)
    assert s.phy.num_guard_carriers == (3, 4)
    assert s.model.decoder_units == (64, 32)
    assert s.sweep.ebno_db == (0.0, 5.0) and all(type(v) is float for v in s.sweep.ebno_db)
    assert s.data.num_train is None
    assert s.phy.snr_feedback_bits is None
    assert s.model.adaptive is False
    assert s.training.jit_compile is True
    assert s.phy.channel == "CDL-C"
    assert s.phy.direction == "uplink"
    assert s.output.out_dir == "runs/my-run"
    assert s.name == "renamed run"


def test_override_single_value_tuple(tiny):
    assert apply_overrides(tiny, ["sweep.ebno_db=[5.0]"]).sweep.ebno_db == (5.0,)
    assert apply_overrides(tiny, ["sweep.ebno_db=(5,)"]).sweep.ebno_db == (5.0,)
    assert apply_overrides(tiny, ["sweep.schemes=('no-adaptive',)"]).sweep.schemes == ("no-adaptive",)


def test_overrides_return_a_new_validated_scenario(tiny):
    before = tiny.to_dict()
    s = apply_overrides(tiny, ["training.epochs=7", "phy.channel=AWGN"])
    assert s is not tiny
    assert isinstance(s, Scenario) and isinstance(s.training, Training) and isinstance(s.phy, Phy)
    assert (s.training.epochs, s.phy.channel) == (7, "AWGN")
    assert tiny.to_dict() == before  # the original is unchanged
    assert (tiny.training.epochs, tiny.phy.channel) == (before["training"]["epochs"], "TDL-A") != (7, "AWGN")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.training.epochs = 1  # type: ignore[misc]
    assert apply_overrides(tiny, []) == tiny


def test_load_scenario_applies_overrides():
    s = load_scenario(TINY, ["training.epochs=1", "sweep.ebno_db=[5.0]"])
    assert s.training.epochs == 1 and s.sweep.ebno_db == (5.0,)
    base = load_scenario(TINY)  # the file itself is untouched by earlier overrides
    assert (base.training.epochs, base.sweep.ebno_db) != (1, (5.0,))


@pytest.mark.parametrize("override, where", [
    ("nope.x=1", "nope.x"),
    ("phy.nope=1", "phy.nope"),
    ("training.epoch=1", "training.epoch"),
    ("nope=1", "nope"),
    ("training.epochs=abc", "training.epochs"),
    ("training.epochs=true", "training.epochs"),
    ("training.batch_size=-3", "training.batch_size"),
    ("sweep.schemes=('proposed', 'magic')", "sweep.schemes"),
    ("training.epochs", "--set"),
])
def test_bad_overrides(tiny, override, where):
    message = _error(lambda: apply_overrides(tiny, [override]), where)
    if "nope" in override or "epoch=" in override:
        assert "unknown" in message


def test_unknown_field_lists_the_fields(tiny):
    message = _error(lambda: apply_overrides(tiny, ["training.epoch=1"]), "training.epoch")
    assert "epochs" in message and "batch_size" in message


# -- fingerprint -----------------------------------------------------------------------------------

@pytest.mark.parametrize("override", [
    "training.epochs=3", "training.learning_rate=5e-4", "training.ebno_db_range=(1, 14)", "training.seed=4",
    "phy.channel=TDL-B", "phy.csi=perfect", "phy.snr_feedback_bits=4", "model.num_channel_uses=16",
    "data.num_train=256", "phy.direction=uplink", "phy.num_ut_ant=2",
])
def test_fingerprint_changes_with_what_shapes_a_model(tiny, override):
    assert apply_overrides(tiny, [override]).fingerprint() != tiny.fingerprint()


@pytest.mark.parametrize("override", [
    "sweep.ebno_db=[1, 2, 3]", "sweep.max_samples=1024", "sweep.ci_half_width=0.02", "sweep.seed=9",
    "sweep.schemes=('proposed',)", "output.out_dir=elsewhere", "output.plot_esno=false", "name=other",
])
def test_fingerprint_ignores_sweep_and_output(tiny, override):
    assert apply_overrides(tiny, [override]).fingerprint() == tiny.fingerprint()


def test_fingerprint_is_stable_and_selectable(tiny):
    assert tiny.fingerprint() == load_scenario(TINY).fingerprint()
    assert re.fullmatch(r"[0-9a-f]{12}", tiny.fingerprint())
    changed = apply_overrides(tiny, ["sweep.max_samples=1024"])
    assert changed.fingerprint("sweep") != tiny.fingerprint("sweep")


def test_resolved_out_dir(tiny):
    assert tiny.resolved_out_dir() == Path("runs/tiny-synthetic")
    s = apply_overrides(tiny, ["name=a b/c", "output.out_dir=out/{name}"])
    assert s.resolved_out_dir() == Path("out/a-b-c")


# -- scenario files --------------------------------------------------------------------------------

def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nowhere.py"
    message = _error(lambda: load_scenario(path), "scenario")
    assert str(path) in message


def test_scenario_file_that_raises(tmp_path):
    path = _write(tmp_path, "raises.py", "x = 1\nraise RuntimeError('boom')\n")
    message = _error(lambda: load_scenario(path), "scenario")
    assert str(path) in message and "RuntimeError" in message and "boom" in message


def test_scenario_file_with_a_syntax_error(tmp_path):
    path = _write(tmp_path, "syntax.py", "from semcom_sim import Scenario\nscenario = Scenario(name='x'\n")
    message = _error(lambda: load_scenario(path), "scenario")
    assert str(path) in message and "SyntaxError" in message


def test_scenario_file_without_scenario(tmp_path):
    path = _write(tmp_path, "empty.py",
                  "from semcom_sim import Scenario\nsomething_else = Scenario(name='x')\n")
    message = _error(lambda: load_scenario(path), "scenario")
    assert str(path) in message and "scenario = Scenario(...)" in message


def test_scenario_file_binding_the_wrong_type(tmp_path):
    path = _write(tmp_path, "wrong.py", "scenario = {'name': 'x'}\n")
    assert str(path) in _error(lambda: load_scenario(path), "scenario")


def test_scenario_file_with_an_invalid_field(tmp_path):
    path = _write(tmp_path, "bad_field.py",
                  "from semcom_sim import Phy, Scenario\n"
                  "scenario = Scenario(name='x', phy=Phy(channel='TDL-Z'))\n")
    _error(lambda: load_scenario(path), "phy.channel")


def test_scenario_file_raising_a_multiline_error_still_gives_one_line(tmp_path):
    path = _write(tmp_path, "multiline.py", "raise RuntimeError('first line\\nsecond line')\n")
    message = _error(lambda: load_scenario(path), "scenario")
    assert str(path) in message


def test_scenario_file_gets_its_own_namespace(tmp_path):
    path = _write(tmp_path, "ok.py", "from semcom_sim import Scenario, Output\n"
                  "scenario = Scenario(name='ok', output=Output(out_dir='x/{name}'))\n")
    s = load_scenario(path)
    assert s.name == "ok" and s.output == Output(out_dir="x/{name}")
    assert load_scenario(str(path)) == s  # a str path works too


# -- renamed fields ------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new", [("phy.bits_per_symbol", "phy.num_bits_per_symbol"),
                                      ("sweep.min_frames", "sweep.min_samples"),
                                      ("sweep.max_frames", "sweep.max_samples"),
                                      ("compare.rkd_genotype", "search.genotype")])
def test_a_renamed_field_given_by_its_old_name_names_the_new_one(tmp_path, old, new):
    import semcom_sim
    from semcom_sim.schemes import Scheme

    section, name = old.split(".")
    cls = {"phy": semcom_sim.Phy, "sweep": semcom_sim.Sweep, "compare": semcom_sim.Compare}[section]
    value = 4 if "bits" in name else 100
    expected = f"{old}: renamed to {new}"
    with pytest.raises(ScenarioError, match=f"^{expected}$"):
        cls(**{name: value})  # in a scenario file
    with pytest.raises(ScenarioError, match=f"^{expected}$"):
        apply_overrides(Scenario(name="s"), [f"{old}={value}"])  # --set
    with pytest.raises(ScenarioError, match=f"^{expected}$"):
        Scenario.from_dict({"name": "s", section: {name: value}})  # scenario.json
    with pytest.raises(ScenarioError, match=f"^scheme 'old': '{old}': renamed to {new}$"):
        Scenario(name="s", schemes=(Scheme("old", {old: value}),), sweep=semcom_sim.Sweep(schemes=("old",)))
    path = tmp_path / "old.py"
    path.write_text("from semcom_sim import *\n"
                    f"scenario = Scenario(name='s', {section}={cls.__name__}({name}={value}))\n")
    with pytest.raises(ScenarioError, match=f"^{expected}$"):
        load_scenario(path)


def test_a_feature_cache_has_its_own_path_and_the_projection_only_counts_when_features_are_stored(tiny):
    kd = apply_overrides(tiny, ["training.distillation=cached"])
    plain = kd.teacher.resolved_cache_path("toy")
    assert plain == Path(f"teacher_cache/toy-{kd.teacher.name}-top{kd.teacher.top_k}.h5")
    full = apply_overrides(kd, ["teacher.store_features=true"]).teacher.resolved_cache_path("toy")
    assert full == plain.with_name(plain.stem + "-features.h5")
    pca = apply_overrides(kd, ["teacher.store_features=true", "teacher.feature_dim=128"])
    assert pca.teacher.resolved_cache_path("toy") == plain.with_name(plain.stem + "-features128.h5")
    # a template without {features} gets the tag before its extension: never the plain cache's file
    custom = apply_overrides(pca, ["teacher.cache_path=c/{dataset}-subset.h5"])
    assert custom.teacher.resolved_cache_path("toy") == Path("c/toy-subset-features128.h5")
    # feature_dim without stored features changes no model; with them it does
    assert apply_overrides(kd, ["teacher.feature_dim=128"]).fingerprint() == kd.fingerprint()
    assert pca.fingerprint() != apply_overrides(kd, ["teacher.store_features=true"]).fingerprint()
    with pytest.raises(ScenarioError, match="teacher.feature_dim: must be a positive"):
        apply_overrides(kd, ["teacher.feature_dim=0"])


# -- antennas ---------------------------------------------------------------------------------------

def test_the_antenna_fields_at_their_defaults_leave_a_siso_fingerprint_as_stored_before_they_existed(tiny):
    stored = tiny.to_dict()
    stored["phy"] = {("cdl_direction" if k == "direction" else k): v for k, v in stored["phy"].items()
                     if k not in ("num_ut_ant", "num_bs_ant", "ut_polarization", "bs_polarization",
                                  "ut_antenna_pattern",
                                  "bs_antenna_pattern", "antenna_spacing", "spatial_correlation", "num_streams",
                                  "precoding", "precoding_csi", "equalizer")}
    loaded = Scenario.from_dict(stored)  # a run directory's scenario.json written before the antenna fields
    assert loaded.phy == tiny.phy and not loaded.phy.is_mimo
    assert loaded.fingerprint() == tiny.fingerprint()


def test_cdl_direction_in_a_scenario_names_its_new_name():
    with pytest.raises(ScenarioError, match=r"^phy.cdl_direction: renamed to phy.direction$"):
        Phy(cdl_direction="uplink")
    with pytest.raises(ScenarioError, match=r"^phy.cdl_direction: renamed to phy.direction$"):
        apply_overrides(Scenario(name="s"), ["phy.cdl_direction=uplink"])


def test_the_transmitting_end_follows_the_direction():
    uplink = Phy(num_ut_ant=2, num_bs_ant=4, num_streams=2, direction="uplink")
    downlink = Phy(channel="Rayleigh", num_ut_ant=2, num_bs_ant=4, num_streams=2, precoding="zf")
    assert (uplink.num_tx_ant, uplink.num_rx_ant, downlink.num_tx_ant, downlink.num_rx_ant) == (2, 4, 4, 2)
    assert uplink.is_mimo and downlink.is_mimo and not Phy().is_mimo


@pytest.mark.parametrize("fields, message", [
    ({"num_ut_ant": 3, "ut_polarization": "dual"}, r"^phy.num_ut_ant: 3 antennas cannot form cross-polarised pairs"),
    ({"num_bs_ant": 2}, r"^phy.channel: AWGN is the identity channel, which needs at least as many receive as "
                        r"transmit antennas; got 2 x 1 \(downlink\)$"),
    ({"num_bs_ant": 2, "channel": "Rayleigh"}, r"^phy.num_streams: without precoding every transmit antenna sends "
                                               r"its own stream: set it to 2 \(phy.num_bs_ant\) or choose "
                                               r"phy.precoding, got 1$"),
    ({"num_bs_ant": 2, "num_ut_ant": 4, "num_streams": 2, "precoding": "zf"},
     r"^phy.precoding: 'zf' sends one stream to each receive antenna: needs num_streams = receive antennas \(4\)"),
    ({"channel": "Rayleigh", "num_bs_ant": 4, "num_ut_ant": 2, "num_streams": 3, "precoding": "svd"},
     r"^phy.num_streams: 3 streams exceed the rank min\(4, 2\) of a 2 x 4 channel$"),
    ({"num_ut_ant": 2, "num_bs_ant": 2, "spatial_correlation": 1.0}, r"^phy.spatial_correlation: must be in \[0, 1\)"),
])
def test_an_antenna_configuration_that_cannot_work_fails_in_one_line(fields, message):
    with pytest.raises(ScenarioError, match=message):
        Phy(**fields)


def test_the_ml_detector_refuses_a_search_too_large_in_one_line():
    phy = Phy(channel="Rayleigh", direction="uplink", num_ut_ant=4, num_bs_ant=4, num_streams=4, num_bits_per_symbol=4,
              coderate=0.5, detector="ml")
    with pytest.raises(ScenarioError, match=r"^phy.detector: 'ml' would search 65536 hypotheses per resource element "
                                            r"\(16-QAM, 4 streams; at most 4096\); use 'kbest' or 'ep'$"):
        Scenario(name="ml", phy=phy, model=Model(transmission="digital", adaptive=False))
    Scenario(name="ml", phy=dataclasses.replace(phy, num_bits_per_symbol=2), model=Model(transmission="digital",
                                                                                      adaptive=False))
