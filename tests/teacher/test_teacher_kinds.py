"""The teacher registry: one kind per family of teachers, picked once from the scenario's ``teacher``
section; the kind, not an if-chain, prepares, loads and describes the teacher. No model is loaded here."""

import pytest

from semcom_sim import Data, Scenario, Teacher
from semcom_sim.teacher.kinds import TEACHER_KINDS, EfficientNetKind, HubKind, MiniLMKind, teacher_kind
from semcom_sim.teacher.runner_base import TeacherError


class _Data:
    def __init__(self, modality, name="x"):
        self.modality, self.name = modality, name


def _scenario(**teacher) -> Scenario:
    return Scenario(name="k", teacher=Teacher(**teacher))


def test_the_kind_follows_the_teacher_section():
    assert isinstance(teacher_kind(_scenario(name="efficientnet-lite0")), EfficientNetKind)
    assert isinstance(teacher_kind(_scenario(name="efficientnet-lite2")), EfficientNetKind)
    text = Scenario(name="k", data=Data(dataset="wordnet-nouns"), teacher=Teacher(name="all-minilm-l6-v2"))
    assert isinstance(teacher_kind(text), MiniLMKind)
    hub = _scenario(name="my-vit", kind="image-classification", model_dir="models/vit")
    assert isinstance(teacher_kind(hub), HubKind)
    assert set(TEACHER_KINDS) == {"efficientnet", "minilm", "hub"}


def test_a_teacher_that_cannot_read_the_data_is_refused_in_one_line():
    with pytest.raises(TeacherError, match=r"^teacher.name: 'efficientnet-lite0' cannot read the text data of 'w'; "
                                           "choose a text teacher$"):
        teacher_kind(_scenario(name="efficientnet-lite0")).check(_scenario(name="efficientnet-lite0"),
                                                                 _Data("text", "w"))
    hub = _scenario(name="my-vit", kind="image-classification", model_dir="models/vit")
    with pytest.raises(TeacherError, match=r"^teacher.kind: a image-classification teacher cannot read the text data "
                                           "of 'w'; use text-encoder$"):
        teacher_kind(hub).check(hub, _Data("text", "w"))
    teacher_kind(hub).check(hub, _Data("image"))  # an image teacher reads images


def test_the_cache_records_what_each_kind_is_built_with():
    image = _scenario(name="efficientnet-lite0", resolution=96)
    assert teacher_kind(image).creation(image, None) == {"resolution": 96}
    assert MiniLMKind().creation(image, None) == {"resolution": None}
    hub = _scenario(name="my-vit", kind="image-classification", model_dir="models/vit")

    class Model:
        input_size = (224, 224)

    assert list(teacher_kind(hub).creation(hub, Model())) == ["resolution", "teacher_kind", "input_size"]


def test_an_unprepared_teacher_is_refused_in_one_line(tmp_path):
    from semcom_sim.teacher.stage import LoadedTeacher

    scenario = _scenario(name="efficientnet-lite0", weights_path=str(tmp_path / "t.pt"))
    with pytest.raises(TeacherError, match=r"^teacher efficientnet-lite0 is not prepared \(.*t.pt missing\): run "
                                           "semcom-sim teacher finetune SCENARIO.py$"):
        LoadedTeacher(scenario, _Data("image"))


def test_teacher_cost_needs_a_prepared_teacher():
    pytest.importorskip("torch")
    from semcom_sim.teacher.cost import teacher_cost

    with pytest.raises(TypeError, match="teacher_cost measures a prepared teacher"):
        teacher_cost(object(), "a text")
