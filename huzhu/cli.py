"""The `huzhu` command line: single runs, batch experiments, sensitivity, reports, parameters, the browser app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huzhu.model.parameters import PARAMETERS, ParameterError, format_number, get_parameter
from huzhu.model.presets import PRESETS

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's status for a process stopped by Ctrl-C


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `huzhu` console script. Returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except (ParameterError, FileExistsError, ValueError) as error:
        # Every input error of huzhu is a ValueError subclass naming the field: experiment
        # files, result folders, executor options.
        print(f"huzhu {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"huzhu {args.command}: interrupted; finished runs are kept, the same command resumes", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huzhu",
        description="Agent-based model of China's online mutual-aid platforms (Xianghubao, 2018-2022).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run one scenario to closure and write its results",
        description="Run one scenario from launch to closure. Writes DIR/timeseries.csv (one row per "
        "half-month period), DIR/record.csv (the run against every observation of Xianghubao's record, "
        "2018-2020), DIR/manifest.json (parameters, seed, versions, git commit, wall time) "
        "and DIR/overview.png/.pdf, and prints a summary.",
    )
    run.add_argument("--agents", type=int, metavar="N", help="number of agents (parameter n_agents)")
    run.add_argument("--seed", type=int, metavar="S", help="integer seed (default: drawn and recorded in the manifest)")
    run.add_argument(
        "--preset",
        default="xianghubao",
        metavar="NAME",
        help=f"parameter preset: {', '.join(PRESETS)} (default: xianghubao, calibrated to the record until 2020)",
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter (repeatable); `huzhu params` lists them",
    )
    run.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: write nothing, print the summary)"
    )
    run.add_argument("--overwrite", action="store_true", help="replace a run already in DIR")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    params = commands.add_parser(
        "params",
        help="list every parameter with default, unit, allowed values and source",
        description="List every model parameter: name, default, unit, allowed values and source.",
    )
    params.add_argument(
        "--group",
        metavar="GROUP",
        help="only this group: " + ", ".join(dict.fromkeys(p.group for p in PARAMETERS)),
    )
    params.add_argument(
        "--format", choices=("text", "markdown", "csv"), default="text", help="output format (default: text)"
    )
    params.set_defaults(handler=_params)

    sweep = commands.add_parser(
        "sweep",
        help="run a batch experiment file (resumable)",
        description="Run every design point x replication of an experiment file (TOML; see "
        "experiments/*.toml) into DIR: manifest.json, design.parquet, runs/, timeseries/ and summaries/ "
        "(Parquet). Rerunning the same command resumes: finished runs are skipped.",
    )
    _experiment_arguments(sweep)
    sweep.set_defaults(handler=_sweep)

    sensitivity = commands.add_parser(
        "sensitivity",
        help="Sobol or Morris indices of an experiment (runs or resumes its sweep first)",
        description="Run or resume the sweep of a Sobol or Morris experiment file, then write "
        "DIR/sensitivity.csv and DIR/sensitivity.png/.pdf with first-order and total Sobol indices "
        "(or Morris mu*, sigma) and their confidence intervals for the [sensitivity] outputs.",
    )
    _experiment_arguments(sensitivity)
    sensitivity.set_defaults(handler=_sensitivity)

    report = commands.add_parser(
        "report",
        help="figures and a markdown summary of an experiment folder",
        description="Write DIR/report/: summary.md, statistics.csv, summaries.png/.pdf, "
        "timeseries.png/.pdf and, for Sobol and Morris designs, sensitivity.csv/.png/.pdf.",
    )
    report.add_argument("dir", type=Path, metavar="DIR", help="an experiment folder written by huzhu sweep")
    report.set_defaults(handler=_report)

    calibrate = commands.add_parser(
        "calibrate",
        help="estimate the behavioural parameters from Xianghubao's record up to a cutoff",
        description="Pattern-oriented calibration (Optuna TPE, then optionally CMA-ES and least squares, over the "
        "batch-experiment "
        "executors, common random numbers across candidates) of the parameters the data cannot give directly, on the "
        "observations dated on or before --until. Writes DIR/: manifest.json, trials.csv, near_best.csv, "
        "fit.csv, fit.png/.pdf, claims.png/.pdf and, with --profile, profiles.csv/.png/.pdf.",
    )
    calibrate.add_argument("--until", default="2020-12-31", metavar="DATE", help="data cutoff (default: 2020-12-31)")
    calibrate.add_argument(
        "--budget", type=int, default=100, metavar="N", help="candidate parameter sets of the TPE search (default 100)"
    )
    calibrate.add_argument(
        "--refine", type=int, default=0, metavar="N",
        help="then N more sets by CMA-ES from TPE's best (default 0: none)",
    )  # fmt: skip
    calibrate.add_argument(
        "--polish", type=int, default=0, metavar="N",
        help="then up to N more sets by least squares (Gauss-Newton in a trust region) from the best so far "
        "(default 0: none)",
    )  # fmt: skip
    calibrate.add_argument(
        "--explore", type=int, default=0, metavar="N",
        help="then up to N more sets at the edge of the confidence set, least-identified directions first, "
        "so that the near-best sets and the intervals built on them reach it (default 0: none; about three "
        "per parameter)",
    )  # fmt: skip
    calibrate.add_argument("--replications", type=int, default=2, metavar="R", help="runs per candidate (default 2)")
    calibrate.add_argument("--agents", type=int, default=200_000, metavar="N", help="agents per run (default 200,000)")
    calibrate.add_argument("--seed", type=int, default=20181016, metavar="S", help="seed (default 20181016)")
    calibrate.add_argument(
        "--stay-rule",
        choices=("constant", "salience"),
        default="constant",
        help="the members' stay rule calibrated (default: constant, the xianghubao preset's; docs/ODD.md 7.5)",
    )
    calibrate.add_argument(
        "--parameters", metavar="A,B,...", help="calibrate only these (default: all of the rule's, docs/calibration.md)"
    )
    calibrate.add_argument(
        "--start",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a searched parameter's value in the first candidate (repeatable; the others are sampled)",
    )
    calibrate.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hold a parameter that is not searched at this value in every run (repeatable; recorded in the "
        "manifest's fixed values, which the xianghubao preset takes)",
    )
    calibrate.add_argument(
        "--estimator",
        choices=("expected", "realised"),
        default="expected",
        help="claim quantities (cases, aided, shares, fees) read Poisson-free from the expected claims, or as "
        "realised (default: expected)",
    )
    calibrate.add_argument(
        "--exit-bound",
        choices=("mean", "every_replication"),
        default="mean",
        help="read the bound on voluntary exits on the replications' mean, or in every replication (the largest "
        "replication's share; default: mean)",
    )
    calibrate.add_argument("--profile", action="store_true", help="also profile the distance along each parameter")
    calibrate.add_argument("--overwrite", action="store_true", help="replace a calibration already in DIR")
    calibrate.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: results/calibration-until-DATE)"
    )
    _executor_arguments(calibrate)
    calibrate.set_defaults(handler=_calibrate)

    calibrate_market = commands.add_parser(
        "calibrate-market",
        help="fit the market's other plans to their record to 2020",
        description="Fit each competitor's marketing reach, Waterdrop's incidence factor and the elderly and "
        "chronic-disease plans' incidence factors to their record up to 2020-12-31 (huzhu.calibration.market), "
        "with the xianghubao preset's behaviour. Writes OUT (the calibration a market model reads with "
        "market_calibration='shipped', when OUT is data/market_calibration.json) and OUT's fit table beside it "
        "(.csv), and prints the fit.",
    )
    calibrate_market.add_argument("--agents", type=int, default=200_000, metavar="N", help="agents a run (200000)")
    calibrate_market.add_argument("--seed", type=int, default=1, metavar="S", help="seed of every run (1)")
    calibrate_market.add_argument(
        "--iterations", type=int, default=14, metavar="K", help="golden-section steps of the one-value fits (14)"
    )
    calibrate_market.add_argument(
        "--waterdrop-evaluations", type=int, default=40, metavar="K", help="runs of Waterdrop's two-value fit (40)"
    )
    calibrate_market.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the calibration file to write (JSON)"
    )
    calibrate_market.add_argument("--quiet", action="store_true", help="no progress bar")
    calibrate_market.set_defaults(handler=_calibrate_market)

    forecast = commands.add_parser(
        "forecast",
        help="run the calibrated parameter sets beyond the data, with prediction intervals",
        description="Run every near-best parameter set of a calibration x its replications to --until and write "
        "DIR/forecast_periods.csv, forecast_years.csv, forecast_models.csv and forecast.png/.pdf: median and "
        "5-95% intervals of members, share per member (per period and per year), cases, people aided, fee "
        "revenue and subsidy; with several calibrations their runs are pooled with Akaike weights; "
        "observations after the cutoff and up to --until score the forecast (forecast_score.csv).",
    )
    forecast.add_argument("--calibrated-until", required=True, metavar="DATE", help="data cutoff of the calibration")
    forecast.add_argument("--until", default="2022-01-28", metavar="DATE", help="last date forecast (default: closure)")
    forecast.add_argument(
        "--calibration",
        type=Path,
        metavar="DIR",
        action="append",
        help="calibration folder (default: results/calibration-until-DATE, else the shipped xianghubao "
        "calibration); give it once per calibrated model (stay rule) to pool them with Akaike weights",
    )
    forecast.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: the calibration folder's forecast/)"
    )
    _executor_arguments(forecast)
    forecast.set_defaults(handler=_forecast)

    viz = commands.add_parser(
        "viz",
        help="explore the model in the browser (Mesa SolaraViz, works offline)",
        description="Serve the browser app: the social network, members, shares, the platform's money "
        "and cross-sell, with the model's parameters as controls. Open the printed address; Ctrl-C stops it.",
    )
    viz.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    viz.add_argument("--port", type=int, default=8765, metavar="P", help="TCP port (default: 8765)")
    viz.set_defaults(handler=_viz)

    presets = commands.add_parser(
        "presets", help="list the parameter presets", description="List the named parameter presets and what each sets."
    )
    presets.set_defaults(handler=_presets)

    figures = commands.add_parser(
        "figures",
        help="remake the figures of the README and docs/ at full size",
        description="Run each figure's recipe (huzhu.experiments.paper_figures: the command that makes it at full "
        "size from the shipped experiment files, presets and calibration) and copy its PNG and PDF over the "
        "figure in docs/figures/. A recipe whose inputs are not there is reported and skipped.",
    )
    figures.add_argument("--only", action="append", metavar="NAME", help="one figure by its file stem (repeatable)")
    figures.add_argument("--list", action="store_true", help="list the recipes (figure, minutes, command) and stop")
    figures.set_defaults(handler=_figures)
    return parser


def _experiment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="experiment file (TOML)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: results/NAME)")
    _executor_arguments(parser)
    parser.add_argument("--retry-failed", action="store_true", help="run the runs that failed before again")
    parser.add_argument("--replications", type=int, metavar="R", help="replace the file's replications")
    parser.add_argument("--agents", type=int, metavar="N", help="replace n_agents of the file's [base]")


def _executor_arguments(parser: argparse.ArgumentParser) -> None:
    from huzhu.experiments.executors import EXECUTORS

    parser.add_argument(
        "--executor", choices=EXECUTORS, default="processes", help="where runs are computed (default: processes)"
    )
    parser.add_argument("--workers", type=int, metavar="N", help="processes of the processes executor (default: CPUs)")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running Dask cluster, e.g. tcp://10.0.0.1:8786 (dask-jobqueue)"
    )
    parser.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _run_experiment_file(args: argparse.Namespace, sensitivity_design: bool = False):
    from huzhu.experiments.experiment_file import ExperimentFileError, load_experiment
    from huzhu.experiments.sweep import run_experiment

    overrides: dict = {}
    if args.replications is not None:
        overrides["replications"] = args.replications
    if args.agents is not None:
        overrides["base"] = {"n_agents": args.agents}
    experiment = load_experiment(args.file, overrides)
    kind = experiment.design["kind"]
    if sensitivity_design and kind not in ("sobol", "morris"):
        raise ExperimentFileError(f"{args.file}: design.kind: sensitivity needs sobol or morris, not {kind!r}")
    out = args.out or Path("results") / experiment.name
    report = run_experiment(
        experiment,
        out,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    print(
        f"huzhu {args.command}: {experiment.name}: {report.ran} runs in {report.wall_seconds:.1f} s "
        f"({report.failed} failed), {report.skipped} already done, {report.total} in all; results in {out}"
    )
    if report.failed_in_folder:
        print(
            f"  {report.failed_in_folder} run(s) in {out} failed: `huzhu report {out}` lists them; "
            "rerun with --retry-failed",
            file=sys.stderr,
        )
    return experiment, out, report


def _sweep(args: argparse.Namespace) -> int:
    _, _, report = _run_experiment_file(args)
    return 1 if report.failed_in_folder else 0


def _sensitivity(args: argparse.Namespace) -> int:
    from huzhu.experiments.results import load
    from huzhu.experiments.sensitivity import analyse_sensitivity, sensitivity_figure

    experiment, out, _ = _run_experiment_file(args, sensitivity_design=True)
    table = analyse_sensitivity(load(out))
    table.to_csv(out / "sensitivity.csv", index=False)
    files = sensitivity_figure(table, out / "sensitivity.png", experiment.name)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"wrote {out / 'sensitivity.csv'}, {', '.join(map(str, files))}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from huzhu.experiments.report import write_report

    files = write_report(args.dir)
    print(f"wrote {', '.join(map(str, files))}")
    return 0


def _date(name: str, text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _start_values(pairs: list[str]) -> dict[str, float]:
    """--start NAME=VALUE arguments as a dictionary of numbers."""
    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            values[name.strip()] = float(text)
        except ValueError:
            raise ValueError(f"--start {pair!r}: expected NAME=NUMBER") from None
    return values


def _calibrate_market(args: argparse.Namespace) -> int:
    import json
    import time

    from tqdm import tqdm

    from huzhu.calibration.market import calibrate_market
    from huzhu.experiments.provenance import environment

    if args.agents < 1000 or args.iterations < 0 or args.waterdrop_evaluations < 3:
        raise ValueError("--agents must be at least 1000, --iterations at least 0, --waterdrop-evaluations at least 3")
    started = time.perf_counter()
    with tqdm(total=args.iterations + 2 + args.waterdrop_evaluations, desc="calibrate-market", unit="run",
              disable=args.quiet) as bar:  # fmt: skip
        calibration, fit = calibrate_market(
            args.agents, args.seed, args.iterations, args.waterdrop_evaluations,
            progress=lambda done, _total: bar.update(done - bar.n),
        )  # fmt: skip
    calibration["provenance"] = {"wall_time_s": round(time.perf_counter() - started, 1), **environment()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(calibration, indent=2) + "\n")
    fit_file = args.out.with_suffix(".csv")
    fit.to_csv(fit_file, index=False)
    print(fit.drop(columns="source").to_string(index=False))
    print(f"huzhu calibrate-market: wrote {args.out} and {fit_file}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import datetime as dt

    from tqdm import tqdm

    from huzhu.calibration.calibrate import PROFILE_POINTS, CalibrationSettings, calibrate, profile
    from huzhu.calibration.claim_rates import record_claim_rates
    from huzhu.calibration.forecast import fit, run_sets
    from huzhu.calibration.observations import load_observations
    from huzhu.calibration.outputs import claim_rate_figure, default_folder, profile_figure, write_calibration
    from huzhu.experiments.executors import make_executor

    until = _date("--until", args.until)
    settings = CalibrationSettings(
        until=until, budget=args.budget, replications=args.replications, n_agents=args.agents, seed=args.seed,
        stay_rule=args.stay_rule, parameters=tuple(args.parameters.split(",")) if args.parameters else (),
        start=_start_values(args.start), estimator=args.estimator, exit_bound_reading=args.exit_bound,
        fixed=_parse_overrides(args.overrides), refine=args.refine,
        polish=args.polish, explore=args.explore,
    )  # fmt: skip
    parameters = settings.parameters
    settings.validate()
    out = args.out or default_folder(until)
    if (out / "manifest.json").exists() and not args.overwrite:
        raise FileExistsError(f"{out} already holds a calibration: give another --out, or --overwrite to replace it")
    started = dt.datetime.now(dt.UTC)
    executor = make_executor(args.executor, args.workers, args.scheduler, args.dask_local)
    try:
        total = settings.budget + settings.refine + settings.polish + settings.explore
        with tqdm(total=total, desc="calibrate", unit="set", disable=args.quiet) as bar:

            def progress(done: int, best: float) -> None:
                bar.update(done - bar.n)
                bar.set_postfix(best=f"{best:.3g}")

            calibration = calibrate(settings, executor, progress=progress)
        parameter_sets = calibration.near_best[list(parameters)].to_dict(orient="records")
        with tqdm(total=len(parameter_sets) * settings.replications, desc="fit", unit="run", disable=args.quiet) as bar:
            tables = run_sets(settings, parameter_sets, until, executor, on_run=bar.update)
        table = fit(settings, calibration.targets, tables)
        files = write_calibration(calibration, table, out, started)
        rates = record_claim_rates(load_observations(), settings.calendar().launch_date)
        rates = rates[rates["end"] <= until]
        files += claim_rate_figure(rates, tables, out / "claims.png")
        if args.profile:
            runs = len(parameters) * (PROFILE_POINTS + 1) * settings.replications
            with tqdm(total=runs, desc="profiles", unit="run", disable=args.quiet) as bar:
                profiles = profile(settings, calibration.best, executor, PROFILE_POINTS, on_run=bar.update)
            profiles.to_csv(out / "profiles.csv", index=False)
            files += [out / "profiles.csv", *profile_figure(profiles, out / "profiles.png")]
    finally:
        executor.close()
    best = calibration.trials["distance"].min()
    sets, near = len(calibration.trials), len(calibration.near_best)
    print(f"huzhu calibrate: {sets} sets, best distance {best:.3g}, {near} near-best")
    for name, value in calibration.best.items():
        print(f"  {name} = {value:.4g}")
    print(f"wrote {', '.join(map(str, files))}")
    return 0


def _forecast(args: argparse.Namespace) -> int:
    import datetime as dt

    import pandas as pd
    from tqdm import tqdm

    from huzhu.calibration.calibrate import searched_for, spread_out
    from huzhu.calibration.forecast import akaike_weights, period_forecast, run_sets, score_forecast, year_forecast
    from huzhu.calibration.observations import data_path, load_observations
    from huzhu.calibration.outputs import (
        CalibrationFolderError,
        default_folder,
        forecast_figure,
        read_manifest,
        settings_from,
    )
    from huzhu.experiments.executors import make_executor

    cutoff = _date("--calibrated-until", args.calibrated_until)
    until = _date("--until", args.until)
    folders = args.calibration or [default_folder(cutoff)]
    if args.calibration is None and not (folders[0] / "manifest.json").is_file():
        folders = [data_path("xianghubao_calibration.json")]  # the shipped calibration of the xianghubao preset
    manifests = [read_manifest(folder) for folder in folders]
    for folder, manifest in zip(folders, manifests, strict=True):
        if manifest["data_cutoff"] != cutoff.isoformat():
            raise CalibrationFolderError(
                f"{folder}: calibrated on data until {manifest['data_cutoff']}, not {cutoff}: run "
                f"huzhu calibrate --until {cutoff} first"
            )
    if until <= cutoff:
        raise ValueError(f"--until {until} is not after the data cutoff {cutoff}: nothing to forecast")
    settings = [settings_from(manifest) for manifest in manifests]
    estimators = {s.estimator for s in settings}
    if len(estimators) > 1:
        raise CalibrationFolderError(
            f"the calibrations read claims differently ({', '.join(sorted(estimators))}): pool calibrations of "
            "one --estimator"
        )
    estimator = estimators.pop()
    models = pd.DataFrame(
        {
            "calibration": [str(folder) for folder in folders],
            "stay_rule": [s.stay_rule for s in settings],
            "parameters": [len(s.parameters) for s in settings],
            "sum_z2": [m["best_distance"] * m["targets_used"] for m in manifests],
        }
    )
    models["aic"] = models["sum_z2"] + 2 * models["parameters"]
    models["weight"] = akaike_weights(models["sum_z2"], models["parameters"])
    if args.out is not None:
        out = args.out
    elif args.calibration is not None and len(folders) == 1:  # a folder, or a manifest file inside one
        out = (folders[0].parent if folders[0].suffix == ".json" else folders[0]) / "forecast"
    elif args.calibration is not None:
        out = Path("results") / f"forecast-from-{cutoff}"
    else:
        out = default_folder(cutoff) / "forecast"
    out.mkdir(parents=True, exist_ok=True)
    executor = make_executor(args.executor, args.workers, args.scheduler, args.dask_local)
    started = dt.datetime.now()
    tables = []
    try:
        # Calibrations written before the near-best sets were thinned are thinned here alike.
        near = [
            spread_out(pd.DataFrame(m["near_best"]), [searched_for(s.stay_rule)[name] for name in s.parameters])
            for m, s in zip(manifests, settings, strict=True)
        ]
        runs = sum(len(sets) * s.replications for sets, s in zip(near, settings, strict=True))
        with tqdm(total=runs, desc="forecast", unit="run", disable=args.quiet) as bar:
            for k, (sets, setting) in enumerate(zip(near, settings, strict=True)):
                model_tables = run_sets(setting, sets.to_dict(orient="records"), until, executor, on_run=bar.update)
                weight = models.loc[k, "weight"] / len(model_tables)
                tables += [t.assign(model=k, weight=weight) for t in model_tables]
    finally:
        executor.close()
    observations = load_observations()
    periods, years = period_forecast(tables, estimator), year_forecast(tables, estimator)
    score = score_forecast(settings[0], tables, observations, cutoff, until)
    files = [out / "forecast_periods.csv", out / "forecast_years.csv", out / "forecast_models.csv"]
    periods.to_csv(files[0], index=False)
    years.to_csv(files[1], index=False)
    models.to_csv(files[2], index=False)
    if len(score):
        files.append(out / "forecast_score.csv")
        score.to_csv(files[-1], index=False)
    files += forecast_figure(periods, years, observations, cutoff, out / "forecast.png", until)
    seconds = (dt.datetime.now() - started).total_seconds()
    print(f"huzhu forecast: {len(tables)} runs of {len(manifests)} calibrated model(s) in {seconds:.0f} s")
    print(models.drop(columns="calibration").to_string(index=False, float_format=lambda x: f"{x:,.3g}"))
    print(years.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))
    if len(score):
        print("scored against the record after the cutoff:")
        print(score.drop(columns="source").to_string(index=False, float_format=lambda x: f"{x:,.3g}"))
    print(f"wrote {', '.join(map(str, files))}")
    return 0


def _viz(args: argparse.Namespace) -> int:
    import os

    from huzhu.viz.server import ServerError, check_assets, offline_environment, server_command

    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port: allowed 1..65535")
    try:
        check_assets()
    except ServerError as error:
        print(f"huzhu viz: error: {error}", file=sys.stderr)
        return 1
    print(f"huzhu viz: serving on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    # The server replaces this process, so its process id is this command's and a signal
    # to it (Ctrl-C, or kill by id) stops the server itself.
    command = server_command(args.host, args.port)
    os.execve(command[0], command, {**os.environ, **offline_environment()})
    return 0  # not reached


def _parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r} is not NAME=VALUE")
        name = name.strip()
        overrides[name] = get_parameter(name).validate(value)
    return overrides


def _run(args: argparse.Namespace) -> int:
    from huzhu.calibration.record import record_lines
    from huzhu.experiments.single_run import run_and_save, summarise

    overrides = _parse_overrides(args.overrides)
    if args.agents is not None:
        overrides["n_agents"] = get_parameter("n_agents").validate(args.agents)
    result = run_and_save(
        overrides, args.seed, args.out, preset=args.preset, progress=not args.quiet, overwrite=args.overwrite
    )
    manifest = result.manifest
    agents = manifest["parameters"]["n_agents"]
    print(
        f"huzhu run: preset {manifest['preset']}, {agents:,} agents, seed {manifest['seed']}, "
        f"{manifest['periods']} periods in {manifest['wall_seconds']:.1f} s"
    )
    print(summarise(result.table))
    print("\n".join(record_lines(result.record)))
    if result.out_dir is not None:
        print(f"wrote {', '.join(str(result.out_dir / f) for f in manifest['files'])}")
    return 0


def _params(args: argparse.Namespace) -> int:
    rows = [p for p in PARAMETERS if args.group is None or p.group == args.group]
    if not rows:
        groups = sorted({p.group for p in PARAMETERS})
        raise ParameterError(f"--group {args.group!r} is not a group: one of {', '.join(groups)}")
    table = [
        (
            p.name,
            format_number(p.default) if isinstance(p.default, float) else str(p.default),
            p.unit,
            p.allowed(),
            p.source,
        )
        for p in rows
    ]
    header = ("name", "default", "unit", "allowed", "source")
    if args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(table)
    elif args.format == "markdown":
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    else:
        group = None
        for p, row in zip(rows, table, strict=True):
            if p.group != group:
                group = p.group
                print(f"\n[{group}]")
            print(f"  {row[0]} = {row[1]}  ({row[2]}; {row[3]})\n      {row[4]}")
    return 0


def _figures(args: argparse.Namespace) -> int:
    from huzhu.experiments.paper_figures import FIGURES, make_figures

    if args.list:
        for recipe in FIGURES:
            needs = f"; needs {recipe.needs}" if recipe.needs else ""
            print(f"{recipe.figure} (about {recipe.minutes:g} min{needs}):")
            for command in recipe.commands:
                print(f"  {command}")
        return 0
    written = make_figures(args.only)
    print(f"huzhu figures: wrote {len(written)} files")
    return 0


def _presets(args: argparse.Namespace) -> int:
    for name, overrides in PRESETS.items():
        settings = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the documented defaults"
        print(f"{name}: {settings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
