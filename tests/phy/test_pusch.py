"""The 5G NR PUSCH reference link (semcom_sim.phy.pusch) against Sionna's own PUSCH chain: on the same bits and
noise it decodes the same transport blocks; its Eb/N0 counts the information bits that carry samples; layers and
antenna ports; configurations the standard does not have fail in one line."""

import numpy as np
import pytest
import sionna.phy
import tensorflow as tf
from sionna.phy.channel import AWGN
from sionna.phy.nr import PUSCHReceiver, PUSCHTransmitter
from sionna.phy.utils import ebnodb2no

from semcom_sim import Model, Phy, Scenario, ScenarioError
from semcom_sim.phy import PUSCHLink
from semcom_sim.phy.pusch import pusch_config

UPLINK = dict(direction="uplink", mcs_index=13)


def _bits(link, num_frames, seed=1):
    return tf.cast(tf.random.stateless_uniform([num_frames * link.samples_per_frame, 64], [seed, 2], 0, 2, tf.int32),
                   tf.float32)


def test_the_pusch_link_decodes_exactly_what_sionnas_pusch_receiver_decodes_on_the_same_draws():
    link = PUSCHLink(Phy(channel="AWGN", csi="ls", **UPLINK), 64)
    # 5 PRBs of the default grid's 60 effective subcarriers, 14 symbols, DMRS on symbol 2: 780 data REs of 16-QAM
    assert (link.resource_grid.fft_size, link.num_coded_bits, link.tb_size) == (60, 780 * 4, 1544)
    transmitter = PUSCHTransmitter(pusch_config(link.phy), return_bits=False)
    receiver = PUSCHReceiver(transmitter, return_tb_crc_status=True)  # Sionna's defaults: LS on the DMRS, LMMSE
    no = float(link.noise_variance(np.float32(5.0)))  # at the cliff of MCS 13: some blocks fail, most decode
    bits = _bits(link, 32)
    h, _ = link.draw_channel(32)
    sionna.phy.config.seed = 5
    ours = link.transmit(bits, h, tf.fill([32], no))
    sionna.phy.config.seed = 5
    b_hat, crc = receiver(AWGN()(transmitter(link.packer.pack(bits)[:, None, :]), no), tf.fill([32, 1, 1], no))
    failed = 1.0 - crc.numpy()[:, 0].astype(np.float32)
    assert 0 < failed.mean() < 0.5
    np.testing.assert_array_equal(ours.block_error.numpy()[:: link.samples_per_frame], failed)
    np.testing.assert_array_equal(ours.features.numpy(), link.packer.unpack(b_hat[:, 0, :], bits.shape[0]).numpy())


def test_eb_n0_counts_the_information_bits_that_carry_samples_on_the_slot_grid():
    link = PUSCHLink(Phy(channel="AWGN", csi="perfect", **UPLINK), 64)
    assert link.samples_per_frame == 1544 // 64
    assert link.coderate_eff == pytest.approx(24 * 64 / 3120)
    ebno_db = np.array([0.0, 6.0], np.float32)
    expected = ebnodb2no(ebno_db, 4, 24 * 64 / 3120, link.resource_grid).numpy()
    np.testing.assert_allclose(link.noise_variance(ebno_db).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("ports, layers", [(2, 2), (2, 1)])
def test_layers_and_antenna_ports_decode_error_free_above_the_cliff(ports, layers):
    phy = Phy(channel="AWGN", csi="ls", num_ut_ant=ports, num_bs_ant=2, num_streams=layers,
              precoding="none" if ports == layers else "svd", **UPLINK)
    link = PUSCHLink(phy, 64)
    assert link.num_coded_bits == 780 * 4 * layers
    bits = _bits(link, 4)
    h, _ = link.draw_channel(4)
    out = link.transmit(bits, h, tf.fill([4], link.noise_variance(np.float32(15.0))))
    np.testing.assert_array_equal(out.features.numpy(), bits.numpy())
    assert float(tf.reduce_max(out.block_error)) == 0.0


@pytest.mark.parametrize("phy, message", [
    (Phy(mcs_index=13), r"^model.transmission: PUSCH is the uplink shared channel: set phy.direction='uplink'$"),
    (Phy(direction="uplink", channel="Rayleigh", num_ut_ant=3, num_bs_ant=4, num_streams=3),
     r"^phy.num_ut_ant: PUSCH has 1, 2 or 4 antenna ports, got 3$"),
])
def test_a_configuration_pusch_does_not_have_fails_in_one_line(phy, message):
    with pytest.raises(ScenarioError, match=message):
        Scenario(name="p", phy=phy, model=Model(transmission="pusch", adaptive=False))
