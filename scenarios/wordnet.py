# Text over the link: WordNet 3.0 noun glosses classified into their 26 lexicographer categories
# (noun.animal, noun.artifact, ...), sent through TDL-A with LS CSI like the quickstart.
# Needs the Debian package wordnet-base:  semcom-sim run scenarios/wordnet.py
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="wordnet",
    data=Data(dataset="wordnet-nouns", max_len=32, vocab_size=20000),
    model=Model(num_channel_uses=64, embedding_dim=64, encoder_filters=(128, 128), decoder_units=(256,)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, csi="ls", snr_feedback_bits=4),
    training=Training(epochs=6, batch_size=128, learning_rate=2e-3, ebno_db_range=(-6.0, 18.0)),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 6)), ci_half_width=0.01, min_samples=2000, max_samples=16000,
                batch_size=1000, schemes=("proposed", "no-adaptive")),
)
