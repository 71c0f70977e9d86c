"""What a run directory shows: its figures (:mod:`~semcom_sim.report.figures`, matplotlib only) and its
markdown summaries (:mod:`~semcom_sim.report.summaries`), split by what they produce, not by command."""
