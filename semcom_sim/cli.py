"""The ``semcom-sim`` command.

    semcom-sim run SCENARIO.py [--set section.field=value ...] [--out DIR] [--retrain]
    semcom-sim train SCENARIO.py [...]     train (or reuse) every scheme's checkpoint
    semcom-sim sweep SCENARIO.py [...]     sweep trained schemes (resumes an interrupted sweep)
    semcom-sim compare SCENARIO.py [--out DIR] [...]  every scheme of `compare`: tables, plots, summary
    semcom-sim plot RESULTS.csv|DIR [--out PNG] [--x ebno_db|esno_db]
    semcom-sim teacher finetune SCENARIO.py   prepare the scenario's teacher once
    semcom-sim teacher cache SCENARIO.py      run it once over the training set -> HDF5 teacher cache
    semcom-sim search SCENARIO.py [--out DIR]  KDL-DARTS over search.lambdas -> DIR/search: genotypes, pareto

The scenario commands take ``--executor ray [--address HOST:PORT] [--task-cpus N] [--task-gpus N]``:
trainings, search parts and sweep points then run as Ray tasks (``docs/scaling.md``).

Bad input (scenario fields, paths, data, teacher caches, results files) ends with one line on stderr
and exit code 2 (set ``SEMCOM_DEBUG=1`` to see the traceback instead). A training whose loss becomes NaN or
infinite, or a full disk, ends with one line and exit code 1 (the files written before are intact); Ctrl-C
with exit code 130. A run directory in use by another process is refused (exit code 2, the holder named).
Any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # the run could not go on: a diverged training, a full disk


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other bad input
        sys.stderr.write(f"semcom-sim: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="semcom-sim", description="Task-oriented semantic communication over a Sionna link.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def scenario_command(name: str, text: str):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("scenario", help="scenario file (Python, defines `scenario = Scenario(...)`)")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                       help="override a scenario field (repeatable), e.g. --set phy.channel=CDL-C")
        p.add_argument("--out", help="output directory (default: the scenario's output.out_dir)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        p.add_argument("--executor", choices=("in-process", "ray"), default="in-process",
                       help="where trainings, searches and sweep points run: this process (default) or Ray tasks "
                            "(pip install 'semcom-sim[ray]'; docs/scaling.md)")
        p.add_argument("--address", help="with --executor ray: the Ray cluster, HOST:PORT or auto (default: start "
                                         "a local Ray instance with every CPU of this machine)")
        p.add_argument("--task-cpus", type=float, default=1.0, metavar="N", help="with --executor ray: CPUs per task")
        p.add_argument("--task-gpus", type=float, default=0.0, metavar="N", help="with --executor ray: GPUs per task")
        return p

    run = scenario_command("run", "train every scheme if no matching checkpoint exists, then sweep and plot")
    run.add_argument("--retrain", action="store_true", help="train even if a matching checkpoint exists")
    train = scenario_command("train", "train every scheme of the scenario (reuses matching checkpoints)")
    train.add_argument("--retrain", action="store_true", help="train even if a matching checkpoint exists")
    scenario_command("sweep", "sweep the trained schemes over Eb/N0 (resumes where it stopped)")
    compare = scenario_command("compare", "train and sweep every scheme of the scenario's `compare` section under "
                               "each condition; write results.csv, cost.csv, distillation.csv, plots, summary.md")
    compare.add_argument("--retrain", action="store_true", help="train even if a matching checkpoint exists")
    scenario_command("search", "KDL-DARTS (RKD-SC's architecture search) for every search.lambdas into the run "
                     "directory's search/: a genotype file each, genotype.json, pareto.csv and pareto.png (compare "
                     "runs it first when a scheme needs it and search.genotype is not set)")
    teacher = sub.add_parser("teacher", help="the teacher stage: prepare the teacher, build its cache")
    teacher_sub = teacher.add_subparsers(dest="teacher_command", required=True, parser_class=_Parser)
    for name, text in (("finetune", "prepare the teacher once: fine-tune the image teacher / fit the text teacher's "
                                    "head or fine-tune it (teacher.finetune_encoder); a Hugging Face teacher "
                                    "(teacher.kind) as teacher.finetune_mode says"),
                       ("cache", "run the prepared teacher once over the training set and write the cache")):
        p = teacher_sub.add_parser(name, help=text, description=text)
        p.add_argument("scenario", help="scenario file")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    report = sub.add_parser("report", help="render summary.md and the figures of a run directory again from its "
                            "files (no model runs)")
    report.add_argument("run_dir", help="a run directory written by `semcom-sim run` or `semcom-sim compare`")
    plot = sub.add_parser("plot", help="plot accuracy vs Eb/N0 from a results.csv")
    plot.add_argument("results", help="results.csv, or a run directory that holds one")
    plot.add_argument("--out", help="PNG to write (default: accuracy_vs_ebno.png beside the CSV)")
    plot.add_argument("--x", choices=("ebno_db", "esno_db"), default="ebno_db", help="x axis")
    return parser


def _plot(args) -> None:
    from semcom_sim.errors import InputError
    from semcom_sim.report.figures import plot_accuracy, save_figure
    from semcom_sim.results import PLOT_PNG, RESULTS_CSV

    path = Path(args.results)
    if path.is_dir():
        path = path / RESULTS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"results: no such file: {path}")
    out = Path(args.out) if args.out else path.parent / PLOT_PNG
    try:
        figure = plot_accuracy(path, x=args.x, show_esno_axis=args.x == "ebno_db")
    except InputError:
        raise
    except ValueError as exc:  # the rows of the user's file cannot be drawn (no rows, no finite values, ...)
        raise InputError(f"{path}: {exc}") from None
    save_figure(figure, out)
    print(f"wrote {out}")


def _report(args) -> None:
    from semcom_sim.report import render

    path = Path(args.run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"report: no such run directory: {path}")
    written = render.draw_figures(path)
    render.write_summary(path)
    print(f"wrote {path / 'summary.md'} and {len(written)} figure(s) in {path}")


def _teacher_command(args) -> None:
    from semcom_sim import load_scenario
    from semcom_sim.data import load_dataset
    from semcom_sim.teacher import stage

    scenario = load_scenario(args.scenario, args.overrides)
    dataset = load_dataset(scenario.data)
    if args.teacher_command == "finetune":
        stage.prepare_teacher(scenario, dataset)
    else:
        stage.build_cache(scenario, dataset)


def _scenario_command(args) -> None:
    from semcom_sim import load_scenario
    from semcom_sim.lock import run_lock

    scenario = load_scenario(args.scenario, args.overrides)
    words = ["semcom-sim", args.command, args.scenario] + [w for o in args.overrides for w in ("--set", o)]
    command = " ".join(shlex.quote(w) for w in words + (["--out", args.out] if args.out else []))
    if args.executor != "in-process":
        command += f" --executor {args.executor}"
    with run_lock(Path(args.out) if args.out else scenario.resolved_out_dir(), command):
        _run_scenario_command(args, scenario, command)


def _run_scenario_command(args, scenario, command: str) -> None:
    from semcom_sim import experiment as ex
    from semcom_sim.sweep import make_executor

    show = not args.no_progress
    executor = make_executor(args.executor, address=args.address, task_cpus=args.task_cpus,
                             task_gpus=args.task_gpus, show_progress=show)
    try:
        if args.command == "search":
            genotype = ex.search(scenario, args.out, executor=executor)
            print(f"outputs in {genotype.parent}")
            return
        if args.command == "compare":
            experiment = ex.compare(scenario, args.out, retrain=args.retrain, show_progress=show, command=command,
                                    executor=executor)
        elif args.command == "run":
            experiment = ex.run(scenario, args.out, retrain=args.retrain, show_progress=show, command=command,
                                executor=executor)
        else:
            experiment = ex.Experiment.open(scenario, args.out, show_progress=show, executor=executor)
            if args.command == "train":
                experiment.train(retrain=args.retrain)
            else:
                experiment.sweep()
                experiment.plot()
                print("\n" + experiment.write_summary(command))
    finally:
        executor.close()
    print(f"outputs in {experiment.out_dir}")


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with file descriptor 2 muted: its C++ start-up logs (oneDNN, CUDA probing)
    would otherwise precede every message of the CLI. ``SEMCOM_DEBUG=1`` keeps them."""
    if os.environ.get("SEMCOM_DEBUG") or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "scenario", None) is not None:  # a missing file is said at once, before TensorFlow loads
        from semcom_sim.errors import InputError
        from semcom_sim.scenario import scenario_file

        try:
            scenario_file(args.scenario)
        except InputError as exc:
            return _bad_input(exc)
    if args.command not in ("plot", "report"):
        import_tensorflow_quietly()
    from semcom_sim.data import DataError
    from semcom_sim.errors import InputError
    from semcom_sim.teacher.cache import CacheError
    from semcom_sim.teacher.runner_base import TeacherError
    from semcom_sim.training_state import TrainingDiverged

    try:
        if args.command == "plot":
            _plot(args)
        elif args.command == "report":
            _report(args)
        elif args.command == "teacher":
            _teacher_command(args)
        else:
            _scenario_command(args)
    except KeyboardInterrupt:
        sys.stderr.write("semcom-sim: interrupted; finished checkpoints, the last saved training state and finished "
                         "sweep points are kept: rerun the same command to resume\n")
        return 130
    except TrainingDiverged as exc:
        sys.stderr.write(f"semcom-sim: error: {exc}\n")
        return EXIT_FAILED
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or os.environ.get("SEMCOM_DEBUG"):
            return _bad_input(exc)
        sys.stderr.write(f"semcom-sim: error: {exc.strerror}\n")
        return EXIT_FAILED
    except (InputError, DataError, CacheError, TeacherError) as exc:  # bad input; bugs keep their traceback
        return _bad_input(exc)
    return 0


def _bad_input(exc: Exception) -> int:
    if os.environ.get("SEMCOM_DEBUG"):
        raise exc
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    sys.stderr.write(f"semcom-sim: error: {message}\n")
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
