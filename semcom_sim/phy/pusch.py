"""The 5G NR PUSCH reference chain: each sample's bits in transport blocks through Sionna's ``PUSCHTransmitter``
and ``PUSCHReceiver`` (one transport block per slot), over the scenario's channel and arrays.

The slot is NR's, not the scenario's grid: 14 OFDM symbols with the normal cyclic prefix, ``phy.subcarrier_spacing_hz``,
and as many resource blocks (12 subcarriers each) as the scenario's grid has effective subcarriers
(``num_effective_subcarriers // 12``); guard bands lie outside the carrier. The transport block follows 38.214:
MCS ``phy.mcs_index`` of MCS table 1 (its modulation and target code rate), ``phy.num_streams`` layers on the
terminal's ``num_ut_ant`` antenna ports (codebook precoding with TPMI 0 when there are more ports than layers,
no PMI feedback), DMRS of configuration type 1 on symbol 2 (Sionna's defaults), LDPC with CRC and rate matching
(``TBEncoder``). The receiver is Sionna's: LS estimation on the DMRS with linear interpolation (or the true
channel with ``phy.csi = "perfect"``), LMMSE detection, ``phy.ldpc_iterations`` BP iterations, the transport
block CRC.

Each sample's ``bits_per_sample`` bits are packed one after the other into a transport block's information bits,
the rest filled with fixed pseudo-random bits (:class:`~semcom_sim.phy.base.FramePacker`); a transport block whose
CRC fails flags its samples in ``block_error``. Eb/N0 counts the information bits that carry samples:
``ebnodb2no(ebno_db, m, r_eff, slot grid)`` with ``r_eff = samples * bits_per_sample / coded bits``, so DMRS,
cyclic prefix, CRC and filler are overhead, as they are for the other links. The transmitter needs no
feedback (a fixed MCS): :meth:`PUSCHLink.sound` returns zeros.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sionna.phy.channel import ApplyOFDMChannel
from sionna.phy.nr import PUSCHConfig, PUSCHReceiver, PUSCHTransmitter, TBDecoder
from sionna.phy.nr.utils import decode_mcs_index

from semcom_sim.errors import ScenarioError
from semcom_sim.phy.base import FramePacker, Link, LinkOutput
from semcom_sim.phy.channels import draw_ofdm_channel, make_channel_model
from semcom_sim.phy.conventions import ebno_db_to_no
from semcom_sim.phy.mimo import mean_receive_snr_db
from semcom_sim.scenario import Phy

_FILLER_SEED = 13


def _filler_bits(num: int) -> np.ndarray:
    return np.random.default_rng(_FILLER_SEED).integers(0, 2, size=max(int(num), 0)).astype(np.float32)


def mcs_modulation_and_rate(mcs_index: int) -> tuple[int, float]:
    """The modulation order (bits per symbol) and target code rate of ``mcs_index`` in 38.214's PUSCH MCS table 1."""
    bits_per_symbol, coderate = decode_mcs_index(int(mcs_index), table_index=1, is_pusch=True)
    return int(bits_per_symbol), float(coderate)


def pusch_config(phy: Phy) -> PUSCHConfig:
    """The ``PUSCHConfig`` of ``phy`` (see the module docstring)."""
    num_prb = phy.num_effective_subcarriers // 12
    if num_prb < 1:
        raise ScenarioError(f"phy.fft_size: PUSCH needs at least one resource block of 12 subcarriers; the grid has "
                            f"{phy.num_effective_subcarriers} effective subcarriers")
    config = PUSCHConfig()
    config.carrier.n_size_grid = num_prb
    config.carrier.subcarrier_spacing = phy.subcarrier_spacing_hz / 1e3
    config.num_layers = phy.num_streams
    config.num_antenna_ports = phy.num_tx_ant
    if phy.num_tx_ant > phy.num_streams:
        config.precoding = "codebook"
        config.tpmi = 0
    config.tb.mcs_table = 1
    config.tb.mcs_index = phy.mcs_index
    return config


class PUSCHLink(Link):
    """The PUSCH reference link of a scenario's ``phy`` carrying ``bits_per_sample`` bits per sample (see the
    module docstring). A frame is one slot: ``draw_channel`` and ``noise_variance`` are per slot.

    :param phy: the scenario's physical layer (``phy.direction`` must be ``"uplink"``).
    :param bits_per_sample: bits each sample carries.
    :param num_bp_iterations: belief-propagation iterations of the LDPC decoder.
    """

    decoder_sees_snr = False
    error_free_while_training = True

    def __init__(self, phy: Phy, bits_per_sample: int, num_bp_iterations: int = 20):
        if phy.direction != "uplink":
            raise ScenarioError("phy.direction: PUSCH is the uplink shared channel; set phy.direction='uplink'")
        self.phy = phy
        self.bits_per_sample = int(bits_per_sample)
        self.transmitter = PUSCHTransmitter(pusch_config(phy), return_bits=False)
        self.tb_size = int(self.transmitter._tb_size)
        if self.bits_per_sample > self.tb_size:
            raise ValueError(f"bits_per_sample={bits_per_sample} exceeds the {self.tb_size}-bit transport block of "
                             "one slot; raise phy.mcs_index or the bandwidth, or send fewer bits")
        decoder = TBDecoder(self.transmitter._tb_encoder, num_bp_iter=int(num_bp_iterations))
        self.receiver = PUSCHReceiver(self.transmitter, channel_estimator="perfect" if phy.csi == "perfect" else None,
                                      tb_decoder=decoder, return_tb_crc_status=True)
        self.packer = FramePacker(self.bits_per_sample, self.tb_size, _filler_bits, "bits")
        self.num_bits_per_symbol = int(self.transmitter._num_bits_per_symbol)
        self.num_coded_bits = int(self.transmitter._num_coded_bits)
        self.coderate_eff = self.packer.used / self.num_coded_bits
        self.num_tx_ant, self.num_rx_ant = phy.num_tx_ant, phy.num_rx_ant
        self._resource_grid = self.transmitter.resource_grid
        self.channel_model = make_channel_model(phy)
        self._apply = ApplyOFDMChannel()

    @property
    def resource_grid(self):
        """The slot's resource grid (Sionna's, built by the ``PUSCHTransmitter``)."""
        return self._resource_grid

    def noise_variance(self, ebno_db) -> tf.Tensor:
        return ebno_db_to_no(ebno_db, self.num_bits_per_symbol, self.coderate_eff, self.resource_grid)

    def draw_channel(self, num_frames: int):
        """The channel of each slot, [num_frames, 1, num_rx_ant, 1, num_tx_ant, 14, fft_size] (AWGN: the
        identity); no sounding frame (``h_sound`` is ``None``)."""
        h, _ = draw_ofdm_channel(self.channel_model, self.resource_grid, num_frames, self.num_rx_ant, self.num_tx_ant)
        return h, None

    def sound(self, h_sound, no, batch_size: int) -> tf.Tensor:
        """A fixed MCS needs no feedback: zeros [batch]."""
        return tf.zeros([batch_size], tf.float32)

    def transmit(self, bits: tf.Tensor, h, no, num_active: tf.Tensor | None = None) -> LinkOutput:
        """Sends ``bits`` [batch, bits_per_sample] in transport blocks over the slots of ``h``; ``features`` of the
        output are the decoded bits and ``block_error`` flags the samples of transport blocks whose CRC failed."""
        if num_active is not None:
            raise ValueError("PUSCHLink sends whole transport blocks: nested lengths (num_active) need the analog link")
        batch = bits.shape[0]
        info = self.packer.pack(bits)  # [frames, tb_size]
        x = self.transmitter(info[:, None, :])
        y = self._apply(x, h, tf.reshape(no, [-1, 1, 1, 1, 1]))
        no_rx = tf.reshape(no, [-1, 1, 1])
        if self.phy.csi == "perfect":
            b_hat, crc = self.receiver(y, no_rx, h)
        else:
            b_hat, crc = self.receiver(y, no_rx)
        frame_error = 1.0 - tf.cast(crc[:, 0], tf.float32)
        return LinkOutput(
            features=self.packer.unpack(b_hat[:, 0, :], batch),
            snr_hat_db=tf.zeros([batch], tf.float32),
            snr_eff_db=tf.zeros([batch], tf.float32),
            snr_true_db=self.frame_values(mean_receive_snr_db(h, no), batch),
            block_error=self.frame_values(frame_error, batch),
        )
