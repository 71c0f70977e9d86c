"""What semcom-sim sets up for a GPU before TensorFlow starts. No test needs a GPU: these check the
settings TensorFlow reads when it finds one."""

import os
import subprocess
import sys

PRINT_GROWTH = "import os, semcom_sim; print(os.environ['TF_FORCE_GPU_ALLOW_GROWTH'])"


def _growth(env: dict) -> str:
    return subprocess.run([sys.executable, "-c", PRINT_GROWTH], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_tensorflow_grows_its_gpu_memory_instead_of_taking_it_all_unless_the_user_says_otherwise():
    # torch (the teacher stage) and TensorFlow share a GPU in one process, and Ray tasks with
    # --task-gpus below 1 share one across processes: TensorFlow must not reserve all of it at start
    env = {k: v for k, v in os.environ.items() if k != "TF_FORCE_GPU_ALLOW_GROWTH"}
    assert _growth(env) == "true"
    assert _growth({**env, "TF_FORCE_GPU_ALLOW_GROWTH": "false"}) == "false"  # the user's choice is kept
