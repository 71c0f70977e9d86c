"""A test condition: the channel model and the receiver's CSI that a trained model is evaluated under.

Scenario files, ``--set`` and results files write a condition as ``"CHANNEL/CSI"`` (``"TDL-A/ls"``);
everything in between holds a :class:`Condition`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "CSI_TEXT"]

CSI_TEXT = {"perfect": "perfect CSI", "ls": "LS CSI"}
"""How a figure or a summary names each CSI mode."""


@dataclass(frozen=True, order=True)
class Condition:
    """``channel`` (``phy.channel``) and ``csi`` (``phy.csi``) of a test condition."""

    channel: str
    csi: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``"CHANNEL/CSI"`` -> a condition; anything else is a one-line ``ValueError``."""
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) != 2 or any(not p or p != p.strip() for p in parts):
            raise ValueError(f"{text!r} is not a test condition CHANNEL/CSI")
        return cls(parts[0], parts[1])

    @classmethod
    def of(cls, scenario: Any) -> Condition:
        """The condition of a scenario's own ``phy``."""
        return cls(scenario.phy.channel, scenario.phy.csi)

    @property
    def label(self) -> str:
        """``"TDL-A/ls"``: how scenario files and results files write it."""
        return f"{self.channel}/{self.csi}"

    @property
    def display(self) -> str:
        """``"TDL-A, LS CSI"``: how figures and summaries name it."""
        return f"{self.channel}, {self.csi_text}"

    @property
    def csi_text(self) -> str:
        return CSI_TEXT.get(self.csi, f"{self.csi} CSI")

    def apply(self, scenario: Any) -> Any:
        """``scenario`` with ``phy.channel`` and ``phy.csi`` replaced (the same object if they match)."""
        if Condition.of(scenario) == self:
            return scenario
        return scenario.patched(phy=dataclasses.replace(scenario.phy, channel=self.channel, csi=self.csi))

    def __str__(self) -> str:
        return self.label
