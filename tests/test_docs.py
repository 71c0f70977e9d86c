"""The documents a user reads first stay in step with the code."""

import re
from pathlib import Path

from semcom_sim.scenario_docs import render

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_reference_is_generated_from_the_dataclasses():
    committed = (ROOT / "docs" / "scenarios.md").read_text()
    assert committed == render(), "regenerate: python -m semcom_sim.scenario_docs > docs/scenarios.md"


def test_ci_runs_the_test_command_that_the_readme_gives():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(\.venv/bin/python -m pytest[^\n#]*?)\s*(?:#.*)?$", readme, flags=re.M)
    assert commands, "README.md must give the test command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[0].strip() in ci
