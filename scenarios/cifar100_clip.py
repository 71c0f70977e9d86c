# The papers' set-up: CIFAR-100 (32 x 32 RGB, 100 fine classes, 50k/10k) distilled from a CLIP ViT-B/32
# vision tower with a linear head, over a 3GPP TDL-A channel with pilot-based LS channel estimation:
# paper A's scheme, the label-trained student and RKD-SC with today's encoder (the CLIP image embedding,
# 512-d, projected onto its first 128 principal components for the feature KD). Neither file is shipped:
# - data: cifar-100-python.tar.gz (the "python version", https://www.cs.toronto.edu/~kriz/cifar.html), or
#   its extracted folder cifar-100-python/, in data/ under the directory you run from (or $SEMCOM_DATA,
#   or --set data.data_dir=DIR);
# - teacher: the openai/clip-vit-base-patch32 checkpoint (model and processor files, as save_pretrained
#   or `hf download openai/clip-vit-base-patch32 --local-dir models/clip-vit-base-patch32` writes them)
#   in models/clip-vit-base-patch32 (or --set teacher.model_dir=DIR).
# Then, once (fits the head on the frozen tower's embeddings of the 50k training images):
#   semcom-sim teacher finetune scenarios/cifar100_clip.py
#   semcom-sim run scenarios/cifar100_clip.py --out runs/cifar100-clip
# (the run builds the teacher caches on first use). Either file missing: one line that names it and
# where it was looked for, exit code 2. Not timed here: the development machine has neither file.
from semcom_sim import Data, Model, Phy, Scenario, Scheme, Sweep, Teacher, Training

scenario = Scenario(
    name="cifar100-clip",
    data=Data(dataset="cifar100", label_mode="fine"),
    model=Model(num_channel_uses=128, encoder_filters=(64, 128, 256), decoder_units=(512, 256), adaptive=True),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9,
            fft_size=72, num_ofdm_symbols=14, subcarrier_spacing_hz=30e3, cyclic_prefix_length=6,
            num_guard_carriers=(5, 6), dc_null=True, pilot_ofdm_symbol_indices=(2, 11),
            csi="ls", interpolation="lin", snr_estimator="pilots", snr_feedback_bits=4),
    training=Training(epochs=10, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3,
                      distillation="cached", kd_temperature=2.0, kd_lambda=0.5),
    teacher=Teacher(name="clip-vit-b32", kind="clip-vision", model_dir="models/clip-vit-base-patch32",
                    finetune_mode="head", top_k=10, feature_dim=128, batch_size=64),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 3)), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000, schemes=("proposed", "no-kd", "rkd-sc-handcrafted")),
    schemes=(Scheme("rkd-sc-handcrafted", {"model.lengths": (8, 16, 32, 64, 96, 128)}),),
)
