"""The physical layer: the only package that imports Sionna.

``OFDMLink`` carries complex symbols through resource grid -> channel -> CSI -> LMMSE and returns
equalised symbols, their effective noise variances and SNR estimates. ``FeatureMapper`` /
``FeatureDemapper`` turn real semantic features into frames of symbols and back.
"""

from semcom_sim.phy.analog import AnalogLink, FeatureDemapper, FeatureMapper
from semcom_sim.phy.ber import simulate_uncoded_qpsk_ber
from semcom_sim.phy.channels import make_channel_model
from semcom_sim.phy.conventions import ebno_db_to_esno_db, ebno_db_to_no, esno_db_from_no
from semcom_sim.phy.digital import DigitalLink, DigitalOutput
from semcom_sim.phy.link import LinkOutput, OFDMLink
from semcom_sim.phy.random import seed_generators, uniform_ebno_db
from semcom_sim.phy.resource_grid import make_resource_grid, null_subcarrier_indices
from semcom_sim.phy.snr import estimate_no_from_nulls, estimate_snr_db_from_pilots, quantize_snr_db

__all__ = [
    "ebno_db_to_no", "esno_db_from_no", "ebno_db_to_esno_db", "make_resource_grid", "null_subcarrier_indices",
    "make_channel_model", "quantize_snr_db", "estimate_no_from_nulls", "estimate_snr_db_from_pilots",
    "OFDMLink", "LinkOutput", "FeatureMapper", "FeatureDemapper", "AnalogLink", "simulate_uncoded_qpsk_ber",
    "seed_generators", "uniform_ebno_db", "DigitalLink", "DigitalOutput",
]
