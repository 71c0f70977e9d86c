# Fast distillation for images: the quickstart link trained from the cached top-3 outputs of an
# EfficientNet-Lite0 (ImageNet weights, fine-tuned once on Fashion-MNIST at 64x64) with the
# information-bottleneck loss. The cache is committed; rebuild it with
#   semcom-sim teacher finetune scenarios/fmnist_kd.py && semcom-sim teacher cache scenarios/fmnist_kd.py
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training

scenario = Scenario(
    name="fmnist-kd",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 64), decoder_units=(256, 256)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, csi="ls", snr_feedback_bits=4),
    training=Training(epochs=10, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3,
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64, finetune_epochs=3,
                    finetune_batch_size=128, finetune_learning_rate=1e-3, batch_size=256),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 3)), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000, schemes=("proposed",)),
)
