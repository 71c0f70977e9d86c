"""The physical layer: the only package that imports Sionna.

``OFDMLink`` carries complex symbols through resource grid -> channel -> CSI -> LMMSE and returns
equalised symbols, their effective noise variances and SNR estimates. The links of the family
``Link`` (``AnalogLink``: real features; ``DigitalLink``: bits through 5G LDPC and QAM) carry one
vector per sample through it, packed into frames by the one ``FramePacker``. ``MIMOOFDMLink`` is the
single-user multi-antenna link (arrays, streams, precoding, per-stream SINR feedback); ``MIMOAnalogLink``
carries the features over it, ``MIMODigitalLink`` the LDPC codewords (linear, K-best, EP or ML detection).
``PUSCHLink`` carries bits in 5G NR PUSCH transport blocks through Sionna's transmitter and receiver.
``PolarLabelCode`` sends a classifier's decision in one 5G polar codeword over a sample's channel uses.
"""

from semcom_sim.phy.analog import AnalogLink, FeatureMapper, MIMOAnalogLink, symbols_to_features
from semcom_sim.phy.base import FramePacker, Link, LinkOutput
from semcom_sim.phy.ber import simulate_uncoded_qpsk_ber
from semcom_sim.phy.channels import make_channel_model
from semcom_sim.phy.conventions import ebno_db_to_esno_db, ebno_db_to_no, esno_db_from_no
from semcom_sim.phy.digital import DigitalLink, MIMODigitalLink
from semcom_sim.phy.label_code import PolarLabelCode
from semcom_sim.phy.link import OFDMLink, OFDMOutput
from semcom_sim.phy.mimo import MIMOOFDMLink, MIMOOutput
from semcom_sim.phy.pusch import PUSCHLink
from semcom_sim.phy.random import generator_state, restore_generator_state, seed_generators, uniform_ebno_db
from semcom_sim.phy.resource_grid import make_resource_grid, null_subcarrier_indices
from semcom_sim.phy.snr import estimate_no_from_nulls, estimate_snr_db_from_pilots, quantize_snr_db

__all__ = [
    "ebno_db_to_no", "esno_db_from_no", "ebno_db_to_esno_db", "make_resource_grid", "null_subcarrier_indices",
    "make_channel_model", "quantize_snr_db", "estimate_no_from_nulls", "estimate_snr_db_from_pilots",
    "OFDMLink", "OFDMOutput", "MIMOOFDMLink", "MIMOOutput",
    "Link", "LinkOutput", "FramePacker", "FeatureMapper", "symbols_to_features",
    "AnalogLink", "MIMOAnalogLink", "DigitalLink", "MIMODigitalLink", "PUSCHLink", "PolarLabelCode",
    "simulate_uncoded_qpsk_ber",
    "seed_generators", "uniform_ebno_db",
    "generator_state", "restore_generator_state",
]
