"""scripts/same_rows.py: two run directories hold the same measured rows (run times aside), or the first
differences are named."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("same_rows", ROOT / "scripts" / "same_rows.py")
same_rows = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(same_rows)

HEADER = "scheme,channel,ebno_db,accuracy,correct,model_id,runtime_s\n"


def _run(path: Path, rows: str) -> Path:
    path.mkdir()
    (path / "results.csv").write_text(HEADER + rows)
    return path


def test_identical_rows_with_other_run_times_are_the_same(tmp_path, capsys):
    a = _run(tmp_path / "a", "proposed,AWGN,0.0,0.5,128,m1,3.2\n")
    b = _run(tmp_path / "b", "proposed,AWGN,0.0,0.5,128,m1,9.9\n")
    assert same_rows.main([str(a), str(b)]) == 0
    assert "results.csv: identical (1 rows)" in capsys.readouterr().out


def test_a_changed_count_or_model_id_is_named(tmp_path, capsys):
    a = _run(tmp_path / "a", "proposed,AWGN,0.0,0.5,128,m1,3.2\n")
    b = _run(tmp_path / "b", "proposed,AWGN,0.0,0.5,129,m2,3.2\n")
    assert same_rows.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "2 differences" in out and "line 2, correct: '128' vs '129'" in out and "model_id: 'm1' vs 'm2'" in out
    (a / "pareto.csv").write_text("kind,accuracy\nsearched,0.8\n")
    assert same_rows.main([str(a), str(b)]) == 1
    assert "pareto.csv: only in" in capsys.readouterr().out


def test_a_missing_directory_is_bad_input(tmp_path, capsys):
    assert same_rows.main([str(tmp_path), str(tmp_path / "missing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
