"""Pattern-oriented calibration of the behavioural and selection parameters.

Optuna's TPE sampler (seeded) proposes candidate parameter sets; each is run for
`replications` replications on the batch-experiment executors, with the same seeds for
every candidate (common random numbers), up to the data cutoff; the candidate's distance
is that of its replication-mean targets (`targets.distance`). Uncertainty is expressed by
the near-best sets: every candidate whose summed z^2 is within the 95% chi-square
quantile (degrees of freedom = parameters calibrated) of the best one's, the
likelihood-ratio confidence set of a Gaussian error model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from huzhu.calibration.observations import load_observations
from huzhu.calibration.runs import RunRequest, run_request
from huzhu.calibration.targets import Target, build_targets, distance, simulate_targets
from huzhu.experiments.executors import SequentialExecutor
from huzhu.experiments.seeding import replication_seeds
from huzhu.model.calendar import Calendar
from huzhu.model.parameters import ParameterError, resolve_parameters
from huzhu.model.presets import preset_overrides


@dataclass(frozen=True)
class Searched:
    """A calibrated parameter and the span searched (inside its allowed range)."""

    name: str
    low: float
    high: float
    log: bool
    reason: str


#: What the data cannot give directly, searched over spans wide enough to hold any value
#: the record allows; each reason says what the data inform.
SEARCHED = (
    Searched("launch_marketing_rate", 0.01, 1.0, True, "3M in 3 days, 12M in 10 days"),
    Searched("launch_marketing_decay_periods", 0.3, 12.0, True, "how long the launch campaign lasted"),
    Searched("marketing_rate", 1e-4, 0.03, True, "steady joining through 2019 (about 27,000 a day)"),
    Searched("word_of_mouth_rate", 0.0, 0.5, False, "growth to 50M in April and 100M in November 2019"),
    Searched("price_attention", 0.002, 0.3, True, "members' response to the share: the slowdown of 2020"),
    Searched("contagion_strength", 0.0, 3.0, False, "exits spreading over ties, from Nitzan & Libai's +80%"),
    Searched("select_period_years", 0.5, 20.0, True, "how fast claims rise with membership duration"),
    Searched("consider_rate_members", 0.002, 0.08, True, "51.5% of members considering insurance, end 2019"),
)
SEARCHED_BY_NAME = {s.name: s for s in SEARCHED}
NEAR_BEST_CONFIDENCE = 0.95
NEAR_BEST_MINIMUM = 3  # keep at least this many sets even if the confidence set is smaller
PROFILE_POINTS = 7  # values along each parameter's span in a profile (plus its best value)


@dataclass(frozen=True)
class CalibrationSettings:
    """What a calibration runs.

    Attributes:
        until: Data cutoff: observations after it are not read.
        budget: Candidate parameter sets evaluated.
        replications: Runs per candidate (common random numbers).
        n_agents: Agents per run.
        seed: Root of the replication seeds and of the sampler.
        preset: Base preset.
        parameters: Names of the searched parameters (a subset of `SEARCHED`).
        fixed: Other parameter values held fixed.
        batch: Candidates proposed before their results are told to the sampler (run
            at once on the executor); fixed here so that the search does not depend on
            the machine's core count.
    """

    until: dt.date = dt.date(2020, 12, 31)
    budget: int = 100
    replications: int = 2
    n_agents: int = 200_000
    seed: int = 20181016
    preset: str = "default"
    parameters: tuple[str, ...] = tuple(s.name for s in SEARCHED)
    fixed: dict[str, Any] = field(default_factory=dict)
    batch: int = 2

    def validate(self) -> None:
        """Raise ParameterError naming the setting that is not allowed."""
        if self.budget < 1:
            raise ParameterError(f"budget={self.budget}: allowed 1 or more candidate sets")
        if self.batch < 1:
            raise ParameterError(f"batch={self.batch}: allowed 1 or more candidates at a time")
        if self.replications < 1:
            raise ParameterError(f"replications={self.replications}: allowed 1 or more")
        unknown = [name for name in self.parameters if name not in SEARCHED_BY_NAME]
        if unknown:
            raise ParameterError(f"cannot calibrate {', '.join(unknown)}: calibrated are {', '.join(SEARCHED_BY_NAME)}")
        if not self.parameters:
            raise ParameterError("parameters: name at least one parameter to calibrate")
        self.model_parameters()

    def base(self) -> dict[str, Any]:
        """Parameter values every candidate runs with, beside its own."""
        return {**self.fixed, "n_agents": self.n_agents}

    def model_parameters(self) -> dict[str, Any]:
        """The full parameter set of the runs before the searched values (validated)."""
        return resolve_parameters({**preset_overrides(self.preset), **self.base()})

    def people_per_agent(self) -> float:
        params = self.model_parameters()
        return params["population"] / params["n_agents"]

    def calendar(self) -> Calendar:
        return Calendar(self.model_parameters()["launch_date"])


@dataclass
class Calibration:
    """A finished calibration.

    Attributes:
        settings: What was run.
        targets: The targets compared (observations up to the cutoff).
        trials: One row per candidate: `trial`, the parameters, `distance`, `sum_z2`.
        best: The best candidate's parameter values.
        near_best: The near-best candidates (rows of `trials`).
    """

    settings: CalibrationSettings
    targets: list[Target]
    trials: pd.DataFrame
    best: dict[str, float]
    near_best: pd.DataFrame


def calibration_targets(settings: CalibrationSettings, observations: pd.DataFrame | None = None) -> list[Target]:
    """The targets of a calibration: observations on or before the cutoff."""
    observations = load_observations() if observations is None else observations
    launch = settings.calendar().launch_date
    return build_targets(observations, settings.people_per_agent(), settings.replications, settings.until, launch)


def evaluate(
    settings: CalibrationSettings,
    targets: list[Target],
    candidates: list[dict[str, float]],
    executor=None,
    until: dt.date | None = None,
    on_run: Callable[[], None] | None = None,
) -> list[tuple[float, np.ndarray, list[pd.DataFrame]]]:
    """Distance, mean simulated targets and period tables of each candidate.

    Every candidate runs replications 0..R-1 with the same seeds (common random numbers);
    `on_run` is called as each run finishes (for progress bars).
    """
    executor = executor or SequentialExecutor()
    seeds = replication_seeds(settings.seed, settings.replications)
    requests = [
        RunRequest((c, r), seed, settings.preset, {**settings.base(), **candidate}, until or settings.until)
        for c, candidate in enumerate(candidates)
        for r, seed in enumerate(seeds)
    ]
    tables: dict[tuple, pd.DataFrame] = {}
    for key, table in executor.map_unordered(run_request, requests):
        tables[key] = table
        if on_run is not None:
            on_run()
    calendar = settings.calendar()
    results = []
    for c in range(len(candidates)):
        runs = [tables[(c, r)] for r in range(settings.replications)]
        simulated = simulate_targets(targets, runs, calendar)
        results.append((distance(targets, simulated), simulated, runs))
    return results


def calibrate(
    settings: CalibrationSettings,
    executor=None,
    observations: pd.DataFrame | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> Calibration:
    """Search the parameters for the smallest distance to the observations up to the cutoff.

    Args:
        settings: What to run.
        executor: A batch-experiment executor (default: sequential).
        observations: The observation table (default: the project's data).
        progress: Called as progress(candidates done, best distance so far).
    """
    import optuna

    settings.validate()
    executor = executor or SequentialExecutor()
    targets = calibration_targets(settings, observations)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # constant_liar: candidates asked in one batch are kept apart instead of coinciding.
    sampler = optuna.samplers.TPESampler(
        seed=settings.seed,
        n_startup_trials=min(20, max(1, settings.budget // 3)),
        multivariate=True,
        constant_liar=True,
    )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    distributions = {
        name: optuna.distributions.FloatDistribution(
            SEARCHED_BY_NAME[name].low, SEARCHED_BY_NAME[name].high, log=SEARCHED_BY_NAME[name].log
        )
        for name in settings.parameters
    }
    rows = []
    while len(rows) < settings.budget:
        trials = [study.ask(distributions) for _ in range(min(settings.batch, settings.budget - len(rows)))]
        candidates = [dict(trial.params) for trial in trials]
        outcomes = evaluate(settings, targets, candidates, executor)
        for trial, candidate, (value, _, _) in zip(trials, candidates, outcomes, strict=True):
            study.tell(trial, value)
            rows.append({"trial": trial.number, **candidate, "distance": value})
        if progress is not None:
            progress(len(rows), min(r["distance"] for r in rows))
    table = pd.DataFrame(rows).sort_values("trial", ignore_index=True)
    used = sum(t.used for t in targets)
    table["sum_z2"] = table["distance"] * used
    near = near_best(table, len(settings.parameters))
    best = {name: float(table.loc[table["distance"].idxmin(), name]) for name in settings.parameters}
    return Calibration(settings, targets, table, best, near)


def near_best(trials: pd.DataFrame, n_parameters: int) -> pd.DataFrame:
    """Candidates within the likelihood-ratio confidence set of the best one."""
    threshold = trials["sum_z2"].min() + chi2.ppf(NEAR_BEST_CONFIDENCE, n_parameters)
    ordered = trials.sort_values("sum_z2")
    inside = ordered[ordered["sum_z2"] <= threshold]
    return (inside if len(inside) >= NEAR_BEST_MINIMUM else ordered.head(NEAR_BEST_MINIMUM)).reset_index(drop=True)


def profile(
    settings: CalibrationSettings,
    best: dict[str, float],
    executor=None,
    points: int = PROFILE_POINTS,
    observations: pd.DataFrame | None = None,
    on_run: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Distance along each calibrated parameter, the others at their best values:
    `points` values over its searched span and its best value, R runs each.

    A flat profile means the data do not identify the parameter (given the others).

    Returns:
        Columns `parameter`, `value`, `distance`, `is_best`.
    """
    targets = calibration_targets(settings, observations)
    candidates, labels = [], []
    for name in settings.parameters:
        spec = SEARCHED_BY_NAME[name]
        grid = np.geomspace(spec.low, spec.high, points) if spec.log else np.linspace(spec.low, spec.high, points)
        for value in [*grid, best[name]]:
            candidates.append({**best, name: float(value)})
            labels.append((name, float(value), value == best[name]))
    results = evaluate(settings, targets, candidates, executor, on_run=on_run)
    return pd.DataFrame(
        [
            {"parameter": n, "value": v, "distance": r[0], "is_best": b}
            for (n, v, b), r in zip(labels, results, strict=True)
        ]
    ).sort_values(["parameter", "value"], ignore_index=True)


def synthetic_observations(
    settings: CalibrationSettings, true_params: dict[str, float], like: pd.DataFrame, seed: int, replications: int = 4
) -> pd.DataFrame:
    """Observations the model itself makes at `true_params`: the same dates and quantities
    as `like`, valued by the replication mean of runs with seeds independent of the
    calibration's (for parameter-recovery tests)."""
    data_settings = CalibrationSettings(**{**asdict(settings), "seed": seed, "replications": replications})
    template = build_targets(
        like, settings.people_per_agent(), replications, settings.until, settings.calendar().launch_date
    )
    ((_, simulated, _),) = evaluate(data_settings, template, [true_params])
    synthetic = like[like["date"] <= settings.until].copy() if settings.until else like.copy()
    synthetic = synthetic[synthetic["plan"] == "critical_illness"].reset_index(drop=True)
    synthetic["value"] = simulated
    synthetic["source"] = f"simulated at {true_params}"
    synthetic = synthetic[np.isfinite(synthetic["value"])]
    return synthetic
