"""Renders the reference pages of the documentation site that come from the code.

    python -m semcom_sim.reference_docs cli > docs/reference/cli.md
    python -m semcom_sim.reference_docs results-files > docs/reference/results-files.md
    python -m semcom_sim.reference_docs layout > docs/reference/layout.md

``cli``: every subcommand and flag of ``semcom-sim``, from the argparse parser of :mod:`semcom_sim.cli`.
``results-files``: every file of a run directory and every column of its CSV files, from the constants of
:mod:`semcom_sim.results` and :mod:`semcom_sim.search` (read from their source, so TensorFlow is not imported).
``layout``: the repository's folders and every module of the package with the first paragraph of its docstring.
``tests/test_site.py`` checks that the committed pages equal what this module renders.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from semcom_sim import cli, results

PACKAGE = Path(__file__).resolve().parent
USAGE_WIDTH = 100  # the usage lines are wrapped at a fixed width, whatever the terminal


# -- the command line ---------------------------------------------------------------------------------------------

def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """``(name, parser, help)`` of every subcommand of ``parser``, in definition order."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            out += [(name, sub, helps.get(name, "")) for name, sub in action.choices.items()]
    return out


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(prog=parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _argument_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            name = ", ".join(f"`{o}`" for o in action.option_strings)
            if action.nargs != 0:
                metavar = action.metavar or (action.dest.upper() if action.choices is None else None)
                if metavar:
                    name += f" `{metavar}`"
        else:
            name = f"`{action.metavar or action.dest.upper()}`"
        accepts = " \\| ".join(f"`{c}`" for c in action.choices) if action.choices else ""
        if isinstance(action, argparse._AppendAction):
            accepts = (accepts + " " if accepts else "") + "repeatable"
        default = action.default
        hidden = default is None or default is False or default == [] or default == argparse.SUPPRESS
        shown = "" if not action.option_strings or hidden else f"`{default}`"
        rows.append(f"| {name} | {accepts} | {shown} | {_cell(action.help or '')} |")
    return rows


def render_cli() -> str:
    """The command-line reference (``docs/reference/cli.md``) as markdown."""
    parser = cli._parser()
    out = ["# Command line", "",
           "Generated from `semcom_sim/cli.py` by `python -m semcom_sim.reference_docs cli`; a test keeps it in "
           "step.", "",
           f"`{parser.prog}`: {parser.description}", "",
           "Bad input (a scenario field, a scheme's patch, a path, missing data, a stale teacher cache, a "
           "malformed results file) ends with one line on stderr and exit code 2; `SEMCOM_DEBUG=1` shows the "
           "traceback instead. Any other exception is a bug and shows its traceback.", "",
           "| command | what it does |", "|---|---|"]
    commands = []
    for name, sub, text in _subcommands(parser):
        nested = _subcommands(sub)
        if nested:
            commands += [(f"{name} {n}", s, t) for n, s, t in nested]
        else:
            commands.append((name, sub, text))
    for name, _, text in commands:
        anchor = "semcom-sim-" + name.replace(" ", "-")
        out.append(f"| [`semcom-sim {name}`](#{anchor}) | {_cell(text)} |")
    for name, sub, text in commands:
        out += ["", f"## semcom-sim {name}", "", _cell(sub.description or text), "", "```text", _usage(sub), "```",
                "", "| argument | accepts | default | meaning |", "|---|---|---|---|", *_argument_rows(sub)]
    return "\n".join(out) + "\n"


# -- the run directory -------------------------------------------------------------------------------------------

def _constants(path: Path) -> dict[str, tuple[object, str]]:
    """Module-level ``NAME = literal`` assignments of a source file: ``{NAME: (value, docstring or "")}``."""
    body = ast.parse(path.read_text()).body
    out = {}
    for i, node in enumerate(body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            doc = ""
            if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(body[i + 1].value, ast.Constant) \
                    and isinstance(body[i + 1].value.value, str):
                doc = body[i + 1].value.value
            out[node.targets[0].id] = (value, doc)
    return out


COLUMN_MEANINGS = {
    "results.csv": {
        "scheme": "the scheme's name (a built-in scheme or one the scenario defines)",
        "channel": "the test channel model: `AWGN`, `Rayleigh`, `TDL-A`..`TDL-E`, `CDL-A`..`CDL-E`",
        "ebno_db": "Eb/N0 of the point, dB (Sionna's `ebnodb2no` with the resource grid: pilots and cyclic prefix "
                   "count as overhead)",
        "esno_db": "the Es/N0 on the data resource elements at that Eb/N0, dB",
        "accuracy": "`correct / samples`",
        "ci_low": "lower end of the Wilson interval of `accuracy` at `sweep.confidence`",
        "ci_high": "upper end of that interval",
        "samples": "samples (images, glosses) evaluated at the point",
        "correct": "how many of them the receiver classified correctly",
        "no": "N0, the noise variance per complex resource element (linear)",
        "stop": "why the point stopped: `ci` (the interval is narrow enough, `sweep.ci_half_width`) or "
                "`max_samples`",
        "runtime_s": "wall time of the point, s",
        "model_id": "the trained model and the sweep settings the row belongs to (`results.model_id`); a "
                    "retrained model never reuses old rows",
        "csi": "`perfect` or `ls` (pilot-based least-squares estimate)",
        "variant": "the study the row belongs to: empty (the plain evaluation), `feedback`, `stale`, `fraction`, "
                   "`length` or `seed`",
        "snr_feedback_bits": "`phy.snr_feedback_bits` the model was evaluated with",
        "snr_feedback_delay_ms": "`phy.snr_feedback_delay_ms` the model was evaluated with",
        "train_fraction": "`training.train_fraction` the model was trained with",
        "channel_uses": "mean complex channel uses a sample sent (`model.num_channel_uses` unless nested lengths "
                        "shorten it)",
        "fixed_length": "the length every sample sent in the `length` study; empty otherwise",
        "training_seed": "`training.seed` of a row of the `seed` study; empty otherwise",
        "ece": "expected calibration error of the point's decisions: 15 equal-width bins of the largest softmax "
               "probability (`semcom_sim.calibration`)",
        "nll": "mean negative log-likelihood of the labels under the decoder's softmax, in nats",
    },
    "cost.csv": {
        "scheme": "the scheme (or `teacher`)",
        "component": "what was measured: the student's encoder and decoder, a channel encoder and decoder, or the "
                     "teacher",
        "parameters": "scalars in the weights",
        "bytes": "size of the weights: the sum over weights of size x item size",
        "flops_per_sample": "FLOPs of one sample (a multiply-add is 2 FLOPs)",
        "latency_ms": "median wall time of one warm batch-1 call, ms",
        "latency_p90_ms": "its 90th percentile, ms",
        "device": "where it ran: `CPU: <model> (<n> threads)` or `GPU: <name>`",
    },
    "distillation.csv": {
        "scheme": "the scheme",
        "distillation": "`training.distillation` of the scheme: `none`, `cached` or `online`",
        "epoch": "the training epoch (from 1)",
        "wall_s": "cumulative training time at the end of the epoch, s (validation excluded)",
        "val_accuracy": "accuracy after the epoch on `compare.monitor_samples` held-out training samples at "
                        "`target_ebno_db`, through the training channel",
        "target_accuracy": "`compare.target_accuracy`: the accuracy the time-to-accuracy measure waits for",
        "target_ebno_db": "`compare.target_ebno_db`: the Eb/N0 of the per-epoch validation, dB",
    },
    "adaptation.csv": {
        "scheme": "a scheme of `compare.length_schemes` (nested lengths)",
        "study": "`mismatch`, `deployed`, `shuffle` or `gate`",
        "ebno_db": "the true Eb/N0 of the channel, dB",
        "fed_ebno_db": "the Eb/N0 whose SNR the transmitter was told (`mismatch`), dB",
        "fed_snr_db": "the SNR fed to the transmitter: the nominal Es/N0 at `fed_ebno_db` through the feedback "
                      "quantiser, dB",
        "samples": "samples of the cell",
        "correct": "how many of them were classified correctly",
        "accuracy": "`correct / samples`",
        "ci_low": "lower end of the Wilson interval of `accuracy`",
        "ci_high": "upper end of that interval",
        "channel_uses": "mean complex channel uses a sample sent",
        "reference": "the row the paired difference is taken against: `matched` (`fed_ebno_db == ebno_db`) or "
                     "`deployed`",
        "difference": "accuracy minus the reference's, on the same samples and draws",
        "diff_low": "lower end of the paired square-and-add (Newcombe) interval of `difference`",
        "diff_high": "upper end of that interval",
        "p_value": "exact two-sided McNemar p-value of the paired difference",
        "better": "discordant samples this row got right and the reference wrong",
        "worse": "discordant samples this row got wrong and the reference right",
        "active_features": "`gate` rows: the effective number of powered features (participation ratio of the sent "
                           "power over the sent real features)",
    },
    "search/pareto.csv": {
        "kind": "`hand-designed` (the encoder of `model.encoder_filters`) or `searched`",
        "lambda": "the complexity weight of the search that derived the network; empty for the hand-designed one",
        "parameters": "parameters of the derived backbone",
        "expected_parameters": "the softmax-weighted parameter count of the supernet at the end of the search",
        "selection_accuracy": "accuracy without a channel on the `search.selection_samples` held-out training "
                              "samples: what the choice of `genotype.json` reads",
        "accuracy": "test accuracy without a channel after retraining from scratch",
        "ci_low": "lower end of the Wilson interval of `accuracy`",
        "ci_high": "upper end of that interval",
        "search_seconds": "wall time of the search, s",
        "retrain_seconds": "wall time of the retraining, s",
        "genotype": "the genotype file of the network (`genotype-lambda<lambda>.json`)",
    },
}
"""What each column means. Every column of the schemas must have an entry (the renderer raises otherwise)."""

_WRITTEN_BY = {
    "RESULTS_CSV": "every sweep (`run`, `sweep`, `compare`), point by point",
    "PLOT_PNG": "`run`, `plot`: accuracy vs Eb/N0 with confidence bands",
    "SCENARIO_JSON": "every command: the resolved scenario",
    "SUMMARY_MD": "`run`, `compare`, `report`: the tables and verdicts, and where the run came from",
    "COST_CSV": "`compare`: size, compute and latency of every transceiver and the teacher",
    "DISTILLATION_CSV": "`compare`: one row per training epoch of every scheme",
    "RUN_JSON": "`run`, `compare`: each invocation's date, machine, commit, command and time per stage",
    "PLAN_JSON": "`run`, `compare`: every study's jobs (scheme, condition, variant, Eb/N0, model id, checkpoint)",
    "ADAPTATION_CSV": "`compare` with `compare.length_schemes`: what a transmitter with nested lengths does with "
                      "the SNR",
    "CHECKPOINTS_DIR": "training: `{scheme}-{fingerprint}.weights.h5` and its `.json` metadata (training history); "
                       "while a training runs, its state `{scheme}-{fingerprint}.state.npz` (resumed after a kill, "
                       "removed when the checkpoint is written)",
    "TENSORBOARD_DIR": "training: TensorBoard events of every scheme and stage, `{scheme}-{fingerprint}/{stage}/` "
                       "(loss terms, accuracies, learning rate per epoch)",
    "OUTCOMES_DIR": "every sweep, beside each row: each sample's outcome in draw order (one bit per sample)",
    "PARETO_CSV": "`search` (in the run directory's `search/`): one row per derived network and the hand-designed "
                  "encoder",
    "GENOTYPE_JSON": "`search`: the chosen genotype (a copy of one `genotype-lambda<lambda>.json`)",
    "SEARCH_JSON": "`search`: the search's identity, date, commit, duration, the choice and the Pareto rows",
}
_SCHEMAS = (("results.csv", "RESULT_COLUMNS", "results"), ("cost.csv", "COST_COLUMNS", "results"),
            ("distillation.csv", "DISTILLATION_COLUMNS", "results"),
            ("adaptation.csv", "ADAPTATION_COLUMNS", "results"), ("search/pareto.csv", "PARETO_COLUMNS", "search"))
_TYPES = {"results.csv": results._RESULT_TYPES, "cost.csv": results._COST_TYPES,
          "distillation.csv": results._DISTILLATION_TYPES, "adaptation.csv": results._ADAPTATION_TYPES}


def _doc_text(doc: str) -> str:
    """A docstring as one markdown paragraph: ``x`` and :role:`~a.b.x` become `x`."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", doc.replace("``", "`"))
    return " ".join(text.split())


def render_results_files() -> str:
    """The run-directory reference (``docs/reference/results-files.md``) as markdown."""
    sources = {"results": _constants(PACKAGE / "results.py"), "search": _constants(PACKAGE / "search.py")}
    out = ["# Results files", "",
           "Generated from `semcom_sim/results.py` and `semcom_sim/search.py` by "
           "`python -m semcom_sim.reference_docs results-files`; a test keeps it in step.", "",
           "What a run directory (`--out DIR`) holds, whichever command wrote it. Every file is written atomically "
           "(temporary file, then rename); a malformed CSV is refused with one line naming the file, the line and "
           "the problem. `semcom-sim report DIR` renders `summary.md` and the figures again from these files.", "",
           "| file | constant | written by |", "|---|---|---|"]
    for name, text in _WRITTEN_BY.items():
        module = "search" if name in ("PARETO_CSV", "GENOTYPE_JSON", "SEARCH_JSON") else "results"
        value, _ = sources[module][name]
        path = f"search/{value}" if module == "search" else f"{value}/" if name.endswith("_DIR") else value
        out.append(f"| `{path}` | `{module}.{name}` | {text} |")
    figures, doc = sources["results"]["FIGURES"]
    out += ["", "`.lock` holds the run directory's lock while a command writes it (the kernel releases it when the "
            "command ends; the file records the last holder).", "", "## Figures", "",
            f"`results.FIGURES`: {_doc_text(doc)}", "",
            "| figure | file |", "|---|---|", *[f"| {k} | `{v}` |" for k, v in figures.items()]]
    for file, constant, module in _SCHEMAS:
        columns, doc = sources[module][constant]
        meanings = COLUMN_MEANINGS[file]
        missing = [c for c in columns if c not in meanings]
        if missing:
            raise KeyError(f"{file}: no meaning for column(s) {missing}: add them to "
                           "semcom_sim/reference_docs.py COLUMN_MEANINGS")
        types = _TYPES.get(file, {})
        out += ["", f"## `{file}`", "", f"`{module}.{constant}`: {_doc_text(doc)}", "",
                "| # | column | type | meaning |", "|---:|---|---|---|"]
        out += [f"| {i} | `{c}` | {types[c].__name__ if c in types else ''} | {meanings[c]} |"
                for i, c in enumerate(columns, 1)]
    variants, doc = sources["results"]["VARIANTS"]
    renamed, renamed_doc = sources["results"]["RENAMED_COLUMNS"]
    out += ["", "## Studies of a results row (`variant`)", "", f"`results.VARIANTS`: {_doc_text(doc)}", "",
            "## Older results files", "", f"`results.RENAMED_COLUMNS`: {_doc_text(renamed_doc)}", "",
            "| old column | now |", "|---|---|", *[f"| `{k}` | {v} |" for k, v in renamed.items()]]
    return "\n".join(out) + "\n"


# -- the package layout ------------------------------------------------------------------------------------------

FOLDERS = (("scenarios/", "the shipped scenario files"), ("notebooks/", "notebooks that drive the Python API"),
           ("tests/", "the test suite (mirrors the package; `e2e/` runs commands end to end)"),
           ("benchmarks/", "measurements; each appends its table to `benchmarks/RESULTS.md`"),
           ("scripts/", "set-up and maintenance scripts (`python -m scripts.NAME`)"),
           ("docs/", "this site (`mkdocs.yml` at the root); `docs/results/` holds the committed run directories"),
           ("teachers/", "prepared teachers and their reports"),
           ("teacher_cache/", "teacher caches of the shipped distillation scenarios"),
           (".ci/run", "what CI runs on a clean clone"))


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return _doc_text(doc.strip().split("\n\n")[0]) if doc else ""


def render_layout() -> str:
    """The repository layout (``docs/reference/layout.md``) as markdown."""
    out = ["# Package layout", "",
           "Generated from the module docstrings by `python -m semcom_sim.reference_docs layout`; a test keeps it in "
           "step. How the parts fit together and the import rules: [Architecture](../architecture.md).", "",
           "| folder | what it holds |", "|---|---|", *[f"| `{f}` | {t} |" for f, t in FOLDERS], "",
           "## `semcom_sim/`", ""]
    packages = [PACKAGE] + sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    for package in packages:
        name = package.relative_to(PACKAGE.parent).as_posix()
        if package is not PACKAGE:
            out += ["", f"### `{name}/`", "", _summary(package / "__init__.py"), ""]
        out += ["| module | what it is |", "|---|---|"]
        for module in sorted(package.glob("*.py")):
            if module.name != "__init__.py":
                out.append(f"| `{name}/{module.name}` | {_cell(_summary(module))} |")
    return "\n".join(out) + "\n"


PAGES = {"cli": render_cli, "results-files": render_results_files, "layout": render_layout}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", choices=sorted(PAGES), help="which page to print")
    sys.stdout.write(PAGES[parser.parse_args(argv).page]())


if __name__ == "__main__":
    main()
