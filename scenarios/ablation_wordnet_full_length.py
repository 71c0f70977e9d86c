# Why the text model with nested lengths (`adaptive-length`) trails `proposed` at full length
# (2.3-2.7 points from 2 dB up in docs/results/compare_wordnet): the differences between
# the two schemes, added one at a time, each a scheme of its own, trained and swept on the
# comparison's own link (TDL-A, LS CSI, 4-bit SNR feedback), every nested model sent at full length.
#   proposed                  paper A's module (concat conditioning), 20,000 training glosses
#   proposed-held-out         + 2,000 of them held out (what adaptive-length fits its policy on)
#   proposed-film-held-out    + FiLM conditioning of the module
#   nested-one-length         + the nested-length machinery with one length (64): L / n fed to the
#                             module and decoder, the mask; one length, so nothing is shared
#   adaptive-length-at-64     + the shared lengths (2..64, sandwich rule): adaptive-length at L = 64
#   semcom-sim run scenarios/ablation_wordnet_full_length.py --out docs/results/ablation_wordnet_full_length
import dataclasses
from pathlib import Path

from semcom_sim import Scheme
from semcom_sim.scenario import load_scenario
from semcom_sim.schemes import scheme_table

_compare = load_scenario(Path(__file__).with_name("compare_wordnet.py"))

_NESTED = dict(scheme_table(_compare)["adaptive-length"].patch)
_HELD_OUT = {"training.validation_samples": 2000}
SCHEMES = (
    Scheme("proposed-held-out", _HELD_OUT, description="proposed trained without the 2,000 held-out glosses"),
    Scheme("proposed-film-held-out", {**_HELD_OUT, "model.adaptive_conditioning": "film"},
           description="proposed-held-out with FiLM conditioning of the module"),
    Scheme("nested-one-length", {**_NESTED, "model.lengths": (64,), "model.length_draw": "uniform"},
           description="adaptive-length with one length (64): its inputs and mask, nothing shared"),
    Scheme("adaptive-length-at-64", {**_NESTED, "model.fixed_length": 64},
           description="adaptive-length sent at full length"),
)

scenario = dataclasses.replace(
    _compare, name="ablation-wordnet-full-length", schemes=SCHEMES,
    sweep=dataclasses.replace(_compare.sweep, schemes=("proposed",) + tuple(s.name for s in SCHEMES)))
