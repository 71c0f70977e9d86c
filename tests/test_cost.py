"""semcom_sim.cost and semcom_sim.teacher.cost: parameters, FLOPs (closed forms) and latency."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from semcom_sim import load_scenario
from semcom_sim.cost import (
    MATMUL_CONV_OPS,
    ModelCost,
    count_flops,
    device_name,
    flops_by_op,
    student_cost,
)
from semcom_sim.schemes import resolve_scheme
from semcom_sim.system import build_model

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(runs=3, warmup=1)


def _built(layer, shape):
    layer.build(shape)
    return layer


def test_dense_flops_are_two_per_multiply_add_plus_one_per_bias():
    spec = [tf.TensorSpec([1, 5])]
    assert count_flops(_built(keras.layers.Dense(7), (None, 5)), spec) == 2 * 5 * 7 + 7
    assert count_flops(_built(keras.layers.Dense(7, use_bias=False), (None, 5)), spec) == 2 * 5 * 7
    # activations have no registered FLOPs in TensorFlow's profiler
    relu = _built(keras.layers.Dense(7, use_bias=False, activation="relu"), (None, 5))
    assert flops_by_op(relu, spec) == {"MatMul": 70}


def test_conv_flops_match_closed_forms():
    conv = _built(keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False), (None, 28, 28, 3))
    assert count_flops(conv, [tf.TensorSpec([1, 28, 28, 3])]) == 2 * 9 * 3 * 4 * 14 * 14
    conv = _built(keras.layers.Conv2D(6, 3, strides=2, padding="valid"), (None, 15, 15, 2))
    assert flops_by_op(conv, [tf.TensorSpec([1, 15, 15, 2])]) == {"Conv2D": 2 * 9 * 2 * 6 * 7 * 7,
                                                                  "BiasAdd": 6 * 7 * 7}
    conv1d = _built(keras.layers.Conv1D(8, 3, padding="same", use_bias=False), (None, 12, 5))
    assert count_flops(conv1d, [tf.TensorSpec([1, 12, 5])]) == 2 * 3 * 5 * 8 * 12


def test_batch_norm_and_a_small_model():
    # inference batch norm: x * inv + (beta - mean * inv), inv = gamma * rsqrt(var + eps)
    norm = _built(keras.layers.BatchNormalization(), (None, 6, 6, 4))
    assert count_flops(lambda x: norm(x, training=False), [tf.TensorSpec([1, 6, 6, 4])]) == 2 * 6 * 6 * 4 + 6 * 4
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    assert count_flops(model, [tf.TensorSpec([1, 10])]) == 2 * 10 * 16 + 16 + 2 * 16 * 3 + 3
    with pytest.raises(ValueError, match="fully defined"):
        count_flops(model, [tf.TensorSpec([None, 10])])


def test_flops_inside_nested_functions_are_counted():
    dense = _built(keras.layers.Dense(7), (None, 5))
    inner = tf.function(lambda x: dense(x))

    def outer(x):
        return inner(x) * 2.0

    spec = [tf.TensorSpec([1, 5])]
    assert any(op.type.endswith("PartitionedCall")
               for op in tf.function(outer).get_concrete_function(*spec).graph.get_operations())
    assert count_flops(outer, spec) == 2 * 5 * 7 + 7 + 7


def _matmul_conv_flops(model, spec):
    from semcom_sim.cost import student_forward

    by_op = flops_by_op(student_forward(model), [spec])
    return sum(v for k, v in by_op.items() if k in MATMUL_CONV_OPS)


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(ROOT / "scenarios" / "tiny_synthetic.py")


def _sizes(*layers):
    return sum(layer.count_params() for layer in layers if layer is not None)


def test_student_cost_counts_encoder_adaptive_decoder(tiny):
    model = build_model(tiny, 10)
    cost = student_cost(model, (28, 28, 1), **FAST)
    assert isinstance(cost, ModelCost) and cost.component == "student"
    assert cost.parameters == _sizes(model.encoder, model.adaptive, model.decoder)
    assert cost.bytes == 4 * cost.parameters
    assert cost.flops_per_sample > 0 and 0 < cost.latency_ms <= cost.latency_p90_ms
    assert cost.device == device_name() and cost.device.split(":")[0] in ("CPU", "GPU")
    row = cost.as_row()
    assert list(row) == ["component", "parameters", "bytes", "flops_per_sample", "latency_ms", "latency_p90_ms",
                         "device"]
    # tiny_synthetic: 32 channel uses -> 64 features; filters (8, 16); decoder (32,); Phi hidden 16
    latent, flat = 64, 7 * 7 * 16
    closed = (2 * 9 * 1 * 8 * 14 * 14 + 2 * 9 * 8 * 16 * 7 * 7 + 2 * (2 * flat * latent)  # encoder
              + 2 * (latent + 1) * 16 + 2 * 16 * latent  # adaptive module
              + 2 * (latent + 2) * 32 + 2 * (32 + 2) * 10)  # decoder
    assert _matmul_conv_flops(model, tf.TensorSpec([1, 28, 28, 1])) == closed
    assert closed < cost.flops_per_sample < 1.05 * closed  # plus biases, normalisation, gating

    plain = build_model(resolve_scheme(tiny, "no-adaptive"), 10)
    plain_cost = student_cost(plain, (28, 28, 1), **FAST)
    assert plain.adaptive is None
    assert cost.parameters - plain_cost.parameters == model.adaptive.count_params() > 0
    assert cost.flops_per_sample > plain_cost.flops_per_sample
    # the feature head for feature-level KD is not part of the deployed student
    with_head = build_model(tiny, 10, teacher_feature_dim=12)
    assert student_cost(with_head, (28, 28, 1), **FAST).parameters == cost.parameters


def test_student_cost_of_a_text_student(tiny):
    model = build_model(tiny, 5, input_shape=(12,), vocab_size=50)
    cost = student_cost(model, (12,), "int32", **FAST)
    assert cost.parameters == _sizes(model.encoder, model.adaptive, model.decoder)
    assert cost.parameters > 50 * tiny.model.embedding_dim  # the embedding table counts
    emb = tiny.model.embedding_dim
    encoder = 2 * 3 * emb * 8 * 12 + 2 * 3 * 8 * 16 * 12 + 2 * (2 * 16 * 64)
    decoder = 2 * 66 * 32 + 2 * 34 * 5
    adaptive = 2 * 65 * 16 + 2 * 16 * 64
    assert _matmul_conv_flops(model, tf.TensorSpec([1, 12], tf.int32)) == encoder + adaptive + decoder
    with pytest.raises(ValueError, match="shape"):
        student_cost(model, (12,), "int32", example=np.ones((2, 12), np.int32), **FAST)


def test_student_cost_of_the_digital_baseline(tiny):
    try:
        scenario = resolve_scheme(tiny, "digital")
    except ValueError:
        pytest.skip("no digital scheme")
    model = build_model(scenario, 10)
    cost = student_cost(model, (28, 28, 1), **FAST)
    assert model.adaptive is None
    assert cost.parameters == _sizes(model.encoder, model.decoder) and cost.flops_per_sample > 0


# -- torch --------------------------------------------------------------------------------------------

def test_torch_cost_of_a_small_mlp():
    torch = pytest.importorskip("torch")
    from semcom_sim.teacher.cost import torch_cost

    mlp = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)).train()
    cost = torch_cost(mlp, torch.zeros(1, 5), "mlp", **FAST)
    assert cost.component == "mlp"
    assert cost.parameters == 5 * 7 + 7 + 7 * 3 + 3 and cost.bytes == 4 * cost.parameters
    assert cost.flops_per_sample == 2 * 5 * 7 + 2 * 7 * 3  # FlopCounterMode counts no biases
    assert 0 < cost.latency_ms <= cost.latency_p90_ms and cost.device.startswith("CPU: ")
    assert mlp.training  # its mode is restored
    with pytest.raises(ValueError, match="batch 1"):
        torch_cost(mlp, torch.zeros(2, 5), "mlp", **FAST)
    custom = torch_cost(mlp, torch.zeros(1, 5), "first", forward=lambda x: mlp[0](x), **FAST)
    assert custom.flops_per_sample == 2 * 5 * 7 and custom.parameters == cost.parameters


def test_teacher_cost_of_an_untrained_efficientnet():
    torch = pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    from semcom_sim.teacher import efficientnet as eff
    from semcom_sim.teacher.cost import teacher_cost

    model = eff.build_efficientnet("efficientnet-lite0", 10, pretrained=False, resolution=32)
    teacher = eff.EfficientNetTeacher(model, variant="efficientnet-lite0", resolution=32,
                                      report={"dataset": "synthetic"}, weights_sha256="0" * 64, device="cpu")
    # independent count: hooks on every convolution and linear layer of one forward pass
    expected = []

    def hook(module, args, out):
        if isinstance(module, torch.nn.Conv2d):
            expected.append(2 * out.numel() * module.weight[0].numel())
        else:
            expected.append(2 * module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(eff.preprocess(np.zeros((1, 28, 28, 1), np.float32), 32))
    for h in handles:
        h.remove()

    cost = teacher_cost(teacher, np.full((28, 28, 1), 0.5, np.float32), **FAST)
    assert cost.component == "efficientnet-lite0-synthetic"
    assert cost.parameters == sum(p.numel() for p in model.parameters())
    assert cost.bytes == 4 * cost.parameters
    assert cost.flops_per_sample == sum(expected) > 0
    assert cost.latency_ms > 0
    with pytest.raises(ValueError, match="one image"):
        teacher_cost(teacher, np.zeros((2, 28, 28, 1), np.float32), **FAST)


def test_teacher_cost_of_minilm_with_a_tiny_encoder(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    tr = pytest.importorskip("transformers")
    from semcom_sim.teacher import minilm
    from semcom_sim.teacher.cache import TeacherIdentity
    from semcom_sim.teacher.cost import teacher_cost
    from semcom_sim.teacher.hub import HubTeacher

    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dog"]) + "\n")
    tokenizer = tr.BertTokenizer(vocab_file=str(tmp_path / "vocab.txt"))
    hidden, inner = minilm.EMBED_DIM, 64
    config = tr.BertConfig(vocab_size=max(32, len(tokenizer)), hidden_size=hidden, num_hidden_layers=1,
                           num_attention_heads=6, intermediate_size=inner, max_position_embeddings=64)
    torch.manual_seed(0)
    encoder = HubTeacher(model=tr.BertModel(config).eval(), processor_or_tokenizer=tokenizer, kind="text-encoder",
                         identity=TeacherIdentity("tiny-bert", "1" * 64, "tiny"), num_classes=None,
                         feature_dim=hidden)
    monkeypatch.setattr(minilm, "_encoder", lambda: encoder)
    classes = 4
    teacher = minilm.MiniLMTeacher(np.zeros((classes, hidden), np.float32), np.zeros(classes, np.float32), {
        "format": minilm.FORMAT, "format_version": minilm.FORMAT_VERSION, "dataset": {"name": "tiny"},
        "encoder": {"weights_sha256": "1" * 64, "max_length": minilm.MAX_LENGTH}})
    text = "a dog a dog"
    length = len(tokenizer([text])["input_ids"][0])

    cost = teacher_cost(teacher, text, **FAST)
    # one layer: Q, K, V, output projections; attention scores and mixing; FFN; pooler; the head
    closed = (4 * 2 * length * hidden * hidden + 2 * 2 * length * length * hidden
              + 2 * 2 * length * hidden * inner + 2 * hidden * hidden + 2 * hidden * classes)
    assert cost.flops_per_sample == closed
    head = classes * hidden + classes
    assert cost.parameters == sum(p.numel() for p in encoder.model.parameters()) + head
    assert cost.bytes == 4 * cost.parameters
    assert cost.component == "all-minilm-l6-v2-wordnet" and cost.latency_ms > 0
    with pytest.raises(TypeError, match="one text"):
        teacher_cost(teacher, [text], **FAST)
