"""The saved state of a training: what it holds comes back, a state of another training is refused in one line,
and how often it is saved does not change the fingerprint (no training here: the end-to-end kills are in
e2e/test_training_survives.py)."""

import dataclasses
import json

import numpy as np
import pytest

from semcom_sim import Data, Model, Phy, Scenario, Stage, Sweep, Training
from semcom_sim.training_state import TrainingState, TrainingStateError


def test_a_state_of_another_training_is_refused(tmp_path):
    state = TrainingState("proposed", "aaaa", stage=0, stage_epoch=0, step=3, history=[], totals={"loss": 1.0},
                          correct=2.0, seconds=0.5, order=np.arange(8), data_rng={"state": 1},
                          generators={"tf_rng": np.zeros(3, np.int64), "tf_rng_alg": 1, "np_rng": {}, "py_rng": []},
                          model=[np.ones((2, 2), np.float32)], optimizer=[np.zeros(1, np.int64)])
    path = tmp_path / "proposed-aaaa.state.npz"
    state.save(path)
    loaded = TrainingState.load(path, "proposed", "aaaa")
    assert (loaded.step, loaded.totals, loaded.order.tolist()) == (3, {"loss": 1.0}, list(range(8)))
    np.testing.assert_array_equal(loaded.model[0], state.model[0])
    for scheme, fingerprint in (("proposed", "bbbb"), ("no-kd", "aaaa")):
        with pytest.raises(TrainingStateError, match="delete it to train from the start") as info:
            TrainingState.load(path, scheme, fingerprint)
        assert len(str(info.value).splitlines()) == 1
    meta = json.loads(str(np.load(path)["meta"]))
    meta["versions"]["tensorflow"] = "0.0"
    arrays = dict(np.load(path))
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(TrainingStateError, match="would not resume bit-identically"):
        TrainingState.load(path, "proposed", "aaaa")


def test_the_scenario_field_that_saves_the_state_does_not_change_the_fingerprint():
    base = Scenario(name="s", data=Data(dataset="synthetic"), model=Model(), phy=Phy(), sweep=Sweep(),
                    training=Training(stages=(Stage(name="joint"),)))
    every = dataclasses.replace(base, training=dataclasses.replace(base.training, state_every_steps=50))
    assert every.fingerprint() == base.fingerprint()
    assert dataclasses.replace(base, training=dataclasses.replace(base.training, seed=1)).fingerprint() != \
        base.fingerprint()
