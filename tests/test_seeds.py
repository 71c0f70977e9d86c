"""Training seeds as an axis (``sweep.seeds`` / ``compare.seeds``): every scheme trained once more per seed,
evaluated on the same Monte Carlo draws, rows in the ``seed`` study, and the spread across trainings in the
summary next to the Monte Carlo half-width."""

import statistics
from pathlib import Path

import pytest

from semcom_sim import Compare, Scenario, ScenarioError, Sweep, load_scenario
from semcom_sim.experiment import run
from semcom_sim.report.render import RunFiles
from semcom_sim.results import RESULTS_CSV, condition_of, point_key, read_results, row_key
from semcom_sim.schemes import resolve_test_scenario
from semcom_sim.studies import Variant

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny_synthetic.py"


@pytest.mark.parametrize("section,seeds", [("sweep", (1, 1)), ("sweep", (-1,)), ("compare", (2, 2.5)),
                                           ("compare", (True,))])
def test_bad_seeds_name_the_field(section, seeds):
    with pytest.raises(ScenarioError, match=rf"^{section}\.seeds(\[\d\])?: (must be distinct integers >= 0|expected an "
                                            "integer)"):
        Scenario(name="s", **({"sweep": Sweep(seeds=seeds)} if section == "sweep" else
                              {"compare": Compare(seeds=seeds)}))


def test_a_seed_row_is_a_point_of_its_own_and_other_rows_keep_their_keys():
    scenario = load_scenario(TINY)
    seeded = Variant.seed(5).apply(scenario)
    assert seeded.training.seed == 5 and Variant.seed(5).retrains
    plain, seed = condition_of(scenario), condition_of(seeded, "seed")
    assert plain["training_seed"] is None and seed["training_seed"] == 5
    assert point_key("p", "AWGN", 0.0, **plain) != point_key("p", "AWGN", 0.0, **seed)
    # a row written before the column existed has the key of a plain row
    old = {"scheme": "p", "channel": "AWGN", "ebno_db": 0.0, "csi": plain["csi"], "variant": "",
           "snr_feedback_bits": plain["snr_feedback_bits"], "snr_feedback_delay_ms": 0.0, "train_fraction": 1.0}
    assert row_key(old) == point_key("p", "AWGN", 0.0, **plain)


@pytest.mark.slow
def test_run_with_seeds_trains_each_scheme_again_and_reports_the_spread(tmp_path):
    scenario = load_scenario(TINY, ["sweep.seeds=(2,)", "training.epochs=2", "training.jit_compile=false",
                                    "sweep.schemes=('proposed',)"])
    lines = []
    experiment = run(scenario, tmp_path, show_progress=False, log=lines.append)
    rows = read_results(tmp_path / RESULTS_CSV)
    plain = [r for r in rows if not r["variant"]]
    seeded = [r for r in rows if r["variant"] == "seed"]
    assert len(plain) == len(seeded) == len(scenario.sweep.ebno_db)
    assert {r["training_seed"] for r in seeded} == {2} and {r["training_seed"] for r in plain} == {None}
    assert len({r["model_id"] for r in seeded} | {r["model_id"] for r in plain}) == 2  # two trainings
    assert {r["csi"] for r in seeded} == {resolve_test_scenario(scenario, "proposed").phy.csi}
    # the summary's spread is the sample standard deviation of the two trainings' accuracies
    summary = (tmp_path / "summary.md").read_text()
    assert "## Spread across trainings" in summary and "training.seed = 0, 2" in summary
    for ebno in scenario.sweep.ebno_db:
        acc = [r["accuracy"] for r in plain + seeded if r["ebno_db"] == ebno]
        line = next(x for x in summary.splitlines() if x.startswith(f"| proposed | TDL-A/ls | {ebno:g} |"))
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[3] == "2" and float(cells[4]) == pytest.approx(statistics.mean(acc), abs=5e-5)
        assert float(cells[5]) == pytest.approx(statistics.stdev(acc), abs=5e-5)
    assert RunFiles(experiment.out_dir).rows("seeds") == seeded
    # a second run reuses both trainings and every point
    lines.clear()
    run(scenario, tmp_path, show_progress=False, log=lines.append)
    assert sum("reusing checkpoint" in line for line in lines) == 2
    assert read_results(tmp_path / RESULTS_CSV) == rows
