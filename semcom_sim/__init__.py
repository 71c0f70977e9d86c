"""semcom-sim: link-level simulation of task-oriented semantic communication on Sionna."""

import os as _os

# Keras 3 must run on TensorFlow: the Sionna 1.x chain is TensorFlow. Set before keras is imported.
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On a GPU, TensorFlow takes what it needs, not all of the GPU's memory at start: the teacher stage's torch
# shares the GPU with it in one process, and Ray tasks with --task-gpus below 1 share a GPU across processes.
_os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

from semcom_sim.scenario import (  # noqa: E402
    Compare,
    Data,
    Model,
    Output,
    Phy,
    Scenario,
    ScenarioError,
    Scheme,
    Search,
    Stage,
    Sweep,
    Teacher,
    Training,
    apply_overrides,
    load_scenario,
    register_dataset,
)
from semcom_sim.schemes import Ref  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Compare", "Data", "Model", "Output", "Phy", "Ref", "Scenario", "ScenarioError", "Scheme", "Search", "Stage",
           "Sweep",
           "Teacher", "Training", "apply_overrides", "load_scenario", "register_dataset"]
