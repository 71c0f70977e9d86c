"""The name tables the scenario checks against (``data/registry.py``, ``teacher/registry.py``): light to import,
and still importable under their old names from ``semcom_sim.scenario`` and ``semcom_sim``."""

from __future__ import annotations

import subprocess
import sys

import semcom_sim
import semcom_sim.scenario as scenario
from semcom_sim.data import registry as data_registry
from semcom_sim.teacher import registry as teacher_registry


def test_the_old_names_are_the_registry_objects():
    for name in ("DATASETS", "LABEL_MODES", "register_dataset", "registered_dataset", "_REGISTERED_DATASETS"):
        assert getattr(scenario, name) is getattr(data_registry, name), name
    for name in ("IMAGE_TEACHERS", "TEXT_TEACHERS", "TEACHER_KINDS", "FINETUNE_MODES"):
        assert getattr(scenario, name) is getattr(teacher_registry, name), name
    assert semcom_sim.register_dataset is data_registry.register_dataset
    assert teacher_registry.BUILTIN_TEACHERS == teacher_registry.IMAGE_TEACHERS + teacher_registry.TEXT_TEACHERS
    assert set(teacher_registry.FINETUNE_MODES) == set(teacher_registry.TEACHER_KINDS)


def test_importing_the_scenario_imports_no_framework():
    code = ("import sys, semcom_sim.scenario; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'sionna', 'transformers', 'h5py') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_teacher_package_loads_the_cache_on_first_use():
    import semcom_sim.teacher as teacher
    from semcom_sim.teacher import cache

    assert teacher.TeacherCache is cache.TeacherCache and "write_cache" in dir(teacher)
