"""Studies as data and the orchestrator's plan: every scheme x condition x variant resolved once into a typed
job (the scenario as the scheme trains it and as it is swept). No model is trained here."""

import dataclasses
from pathlib import Path

import pytest

from semcom_sim import Compare, Scenario, ScenarioError, Scheme, load_scenario
from semcom_sim.condition import Condition
from semcom_sim.experiment import plan_study
from semcom_sim.studies import Study, Variant, compare_studies, run_studies

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny_synthetic.py"


def _compare(**fields) -> Scenario:
    cfg = dict(schemes=("proposed", "no-adaptive", "adaptive-length"), conditions=("AWGN/perfect", "TDL-A/ls"),
               robustness_schemes=("proposed", "no-kd"), feedback_bits=(2,), feedback_delay_ms=(5.0,),
               fraction_schemes=("proposed",), data_fractions=(0.5, 1.0), fraction_ebno_db=(12.0,),
               length_schemes=("adaptive-length",), seeds=(3,))
    cfg.update(fields)
    scenario = load_scenario(TINY, [f"compare.{k}={v!r}" for k, v in cfg.items()])
    nested = Scheme("adaptive-length", {"model.lengths": (8, 16, 32), "training.validation_samples": 128})
    return dataclasses.replace(scenario, schemes=(nested,))


def test_a_condition_reads_and_writes_channel_slash_csi():
    c = Condition.parse("TDL-A/ls")
    assert (c.channel, c.csi, c.label, c.display, str(c)) == ("TDL-A", "ls", "TDL-A/ls", "TDL-A, LS CSI", "TDL-A/ls")
    for bad in ("TDL-A", "TDL-A/ls/x", "/ls", " AWGN/perfect", 3):
        with pytest.raises(ValueError, match="is not a test condition CHANNEL/CSI"):
            Condition.parse(bad)
    scenario = load_scenario(TINY)
    assert Condition.of(scenario) == c and c.apply(scenario) is scenario
    moved = Condition("AWGN", "perfect").apply(scenario)
    assert (moved.phy.channel, moved.phy.csi) == ("AWGN", "perfect") and moved.phy.fft_size == scenario.phy.fft_size


def test_run_declares_the_sweep_and_one_seed_study():
    scenario = load_scenario(TINY, ["sweep.seeds=(4, 5)"])
    sweep, seeds = run_studies(scenario)
    assert sweep == Study("sweep", ("proposed", "no-adaptive"), (Condition("TDL-A", "ls"),), (0.0, 10.0))
    assert seeds.name == "seeds" and [v.value for v in seeds.variants] == [4.0, 5.0] and seeds.trains
    assert len(run_studies(load_scenario(TINY))) == 1


def test_compare_declares_its_studies_from_its_section():
    studies = {s.name: s for s in compare_studies(_compare())}
    assert list(studies) == ["sweep", "seeds", "robustness", "length", "fractions"]
    assert studies["sweep"].conditions == (Condition("AWGN", "perfect"), Condition("TDL-A", "ls"))
    assert studies["sweep"].validate and not studies["robustness"].trains and studies["length"].each_length
    assert [(v.kind, v.value) for v in studies["robustness"].variants] == [("feedback", 2.0), ("stale", 5.0)]
    assert studies["fractions"].ebno_db == (12.0,)
    none = _compare(seeds=(), feedback_bits=(), feedback_delay_ms=(), length_schemes=(), data_fractions=())
    assert [s.name for s in compare_studies(none)] == ["sweep"]


def test_the_plan_resolves_every_scheme_condition_and_variant_once():
    scenario = _compare()
    studies = {s.name: s for s in compare_studies(scenario)}
    main = studies["sweep"].schemes
    sweep = plan_study(scenario, studies["sweep"], main)
    assert [(j.scheme, j.condition.label) for j in sweep] == [(s, c) for s in main
                                                              for c in ("AWGN/perfect", "TDL-A/ls")]
    for job in sweep:  # trained under the scenario's own phy, swept under the job's condition
        assert Condition.of(job.trained) == Condition("TDL-A", "ls") and Condition.of(job.tested) == job.condition
    no_adaptive = next(j for j in sweep if j.scheme == "no-adaptive")
    assert no_adaptive.trained.model.adaptive is False and no_adaptive.tested.model.adaptive is False
    # a test-time variant changes only what is swept; a training variant what is trained
    robust = plan_study(scenario, studies["robustness"], main)
    assert {j.scheme for j in robust} == {"proposed"}  # no-kd is not trained by the first study
    feedback = next(j for j in robust if j.kind == "feedback")
    assert feedback.tested.phy.snr_feedback_bits == 2 and feedback.trained.phy.snr_feedback_bits is None
    fractions = plan_study(scenario, studies["fractions"], main)
    half = next(j for j in fractions if j.variant.value == 0.5)
    assert half.trained.training.train_fraction == 0.5 and half.trained.training.epochs == 2 * scenario.training.epochs
    full = next(j for j in fractions if j.variant.value == 1.0)
    proposed = next(j for j in sweep if j.scheme == "proposed")
    assert full.trained.to_json() == proposed.trained.to_json()  # no patch: the first study's proposed training
    seeds = plan_study(scenario, studies["seeds"], main)
    assert {j.trained.training.seed for j in seeds} == {3} and len(seeds) == len(sweep)
    lengths = plan_study(scenario, studies["length"], main)
    assert [j.tested.model.fixed_length for j in lengths] == [8, 16, 32]
    assert {j.trained.model.fixed_length for j in lengths} == {None}


def test_training_per_condition_trains_under_the_condition():
    scenario = _compare(retrain_per_condition=True)
    study = compare_studies(scenario)[0]
    for job in plan_study(scenario, study, study.schemes):
        assert Condition.of(job.trained) == job.condition


def test_a_length_study_of_a_scheme_without_lengths_fails_in_one_line():
    scenario = _compare(length_schemes=("proposed",))
    study = next(s for s in compare_studies(scenario) if s.name == "length")
    with pytest.raises(ScenarioError, match=r"^compare.length_schemes: 'proposed' has no nested lengths"):
        plan_study(scenario, study, ("proposed",))


def test_a_scheme_test_patch_reaches_only_the_swept_scenario():
    late = Scheme("late", {"model.adaptive": False}, test_patch={"phy.snr_feedback_delay_ms": 5.0})
    scenario = Scenario(name="t", schemes=(late,), compare=Compare(schemes=("late",), conditions=("AWGN/perfect",)))
    [job] = plan_study(scenario, compare_studies(scenario)[0], ("late",))
    assert job.trained.phy.snr_feedback_delay_ms == 0.0 and job.tested.phy.snr_feedback_delay_ms == 5.0
    assert job.trained.model.adaptive is False and job.describe() == ""


def test_a_variant_patch_is_checked_like_a_scheme_patch():
    scenario = load_scenario(TINY, ["model.lengths=(8, 16, 32)", "training.validation_samples=128"])
    assert Variant.length(8).apply(scenario).model.fixed_length == 8 and not Variant.length(8).retrains
    with pytest.raises(ScenarioError, match=r"^compare: length variant 8: model.fixed_length: needs nested lengths"):
        Variant.length(8).apply(load_scenario(TINY))
    with pytest.raises(ScenarioError, match=r"^compare: fraction variant 0: training.train_fraction"):
        Variant("fraction", 0.0, {"training.train_fraction": 0.0}).apply(scenario)


def test_every_training_of_a_comparison_holds_out_the_monitor_rows_and_the_monitor_reads_only_them():
    import numpy as np

    from semcom_sim.data import load_dataset
    from semcom_sim.data.splits import training_rows, validation_rows
    from semcom_sim.evaluate import EpochValidator

    scenario = _compare(monitor_samples=96)
    studies = compare_studies(scenario)
    # sweep, seeds, robustness, length, fractions: those that do not train sweep models trained the same way
    assert [s.holds_out for s in studies] == [96] * 5
    first = {job.scheme: job.trained.to_json() for job in plan_study(scenario, studies[0], studies[0].schemes)}
    for study in studies:
        for job in plan_study(scenario, study, studies[0].schemes):
            held = job.trained.training.validation_samples
            # the nested scheme holds out more for its length policy: never fewer than the monitor's rows
            assert held == (128 if job.scheme == "adaptive-length" else 96)
            if not study.trains:  # the very model the first study trained
                assert job.trained.to_json() == first[job.scheme]
    dataset = load_dataset(scenario.data)
    trained = studies[0].holding_out(load_scenario(TINY))
    monitor = EpochValidator.for_scenario(scenario, "proposed", trained, dataset)
    assert monitor.num_samples == 96 and np.array_equal(monitor.rows, validation_rows(trained, dataset))
    assert not set(monitor.rows) & set(training_rows(trained, dataset))
    nested = dataclasses.replace(trained, training=dataclasses.replace(trained.training, validation_samples=128))
    assert np.array_equal(EpochValidator.for_scenario(scenario, "x", nested, dataset).rows,
                          validation_rows(nested, dataset)[:96])
    assert run_studies(scenario)[0].holds_out == 0  # `run` trains on every training row


def test_the_old_monitor_field_name_names_its_replacement():
    with pytest.raises(ScenarioError, match=r"^compare.validation_samples: renamed to compare.monitor_samples$"):
        load_scenario(TINY, ["compare.validation_samples=64"])


def test_the_finite_blocklength_reference_is_a_study_of_the_limit_schemes_model_under_every_condition():
    scenario = Scenario(name="c", compare=Compare(conditions=("AWGN/perfect", "TDL-A/ls"), limit_scheme="proposed"))
    study = compare_studies(scenario)[-1]
    assert (study.name, study.schemes, study.trains, study.reference) == ("reference", ("proposed",), False, "ideal")
    jobs = plan_study(scenario, study, ("proposed", "no-kd"))
    assert [(j.scheme, j.row_scheme, j.condition.label) for j in jobs] == [
        ("proposed", "ideal-label", "AWGN/perfect"), ("proposed", "ideal-label", "TDL-A/ls")]
    assert "reference" not in [s.name for s in compare_studies(Scenario(name="c"))]  # off by default
    with pytest.raises(ScenarioError, match=r"^compare.limit_scheme: 'magic' is not one of proposed, "):
        Scenario(name="c", compare=Compare(limit_scheme="magic"))


def test_the_polar_label_baseline_is_a_study_of_the_limit_schemes_model_beside_the_reference():
    scenario = Scenario(name="c", compare=Compare(conditions=("AWGN/perfect", "TDL-A/ls"), limit_scheme="no-kd",
                                                  label_baseline=True))
    reference, baseline = compare_studies(scenario)[-2:]
    assert (reference.name, reference.reference) == ("reference", "ideal")
    assert (baseline.name, baseline.schemes, baseline.trains, baseline.reference) == (
        "label-baseline", ("no-kd",), False, "polar")
    jobs = plan_study(scenario, baseline, ("proposed", "no-kd"))
    assert [(j.scheme, j.row_scheme, j.condition.label) for j in jobs] == [
        ("no-kd", "label-polar", "AWGN/perfect"), ("no-kd", "label-polar", "TDL-A/ls")]
    with pytest.raises(ScenarioError, match=r"^compare.label_baseline: needs compare.limit_scheme "):
        Compare(label_baseline=True)
