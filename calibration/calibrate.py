"""Pattern-oriented calibration of the behavioural and selection parameters.

Optuna's TPE sampler (seeded) proposes candidate parameter sets over the whole searched
space; a CMA-ES stage (`refine` candidates, seeded) then searches around TPE's best, since a
dozen parameters are more than a global search of a few hundred sets pins down, and a
least-squares stage (`polish` candidates) ends it: Gauss-Newton steps in a trust region
(scipy's trust-region reflective solver) on the targets' z, whose Jacobian, by forward
differences under common random numbers, is one batch of runs. The distance is a sum of
squared z, and a solver that uses that structure converges in a few dozen Jacobians where
CMA-ES, which sees only the sum, needs thousands of sets in as many dimensions. Each
candidate is run for `replications` replications on the batch-experiment executors, with
the same seeds for every candidate (common random numbers), up to the data cutoff; the
candidate's distance is that of its replication-mean targets (`targets.distance`).
Uncertainty is expressed by the near-best sets: every candidate whose summed z^2 is within
the 95% chi-square quantile (degrees of freedom = parameters calibrated) of the best one's,
the likelihood-ratio confidence set of a Gaussian error model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from cmaes import CMA
from scipy.stats import chi2

from huzhu.calibration.observations import load_observations
from huzhu.calibration.runs import RunRequest, run_request
from huzhu.calibration.targets import (
    BOUND_READINGS,
    ESTIMATORS,
    Target,
    bound_targets,
    build_targets,
    distance,
    simulate_targets,
    standardised_errors,
)
from huzhu.experiments.executors import SequentialExecutor
from huzhu.experiments.seeding import replication_seeds
from huzhu.model.calendar import Calendar
from huzhu.model.parameters import DEFAULTS, ParameterError, resolve_parameters
from huzhu.model.presets import preset_overrides

STAY_RULES = ("constant", "salience")


@dataclass(frozen=True)
class Searched:
    """A calibrated parameter, the span searched (inside its allowed range) and the stay
    rules that use it.

    Attributes:
        at_edge: Why a best value at an edge of the span is accepted, if it is (the span
            is a bound from the evidence, or the model cannot resolve beyond it); empty
            when a best value there would mean the span is too narrow.
        requires: (parameter, value) pairs under which the parameter acts at all: it is
            searched by default only when the calibration's fixed values (or the
            defaults) meet them.
    """

    name: str
    low: float
    high: float
    log: bool
    reason: str
    rules: tuple[str, ...] = STAY_RULES
    at_edge: str = ""
    requires: tuple[tuple[str, str], ...] = ()


#: What the data cannot give directly. Spans hold every value the record and the cited
#: evidence allow; each reason says what informs the parameter and where its span comes from.
SEARCHED = (
    Searched("launch_marketing_rate", 0.01, 1.0, True, "3M in 3 days, 12M in 10 days"),
    Searched(
        "launch_marketing_decay_periods", 0.1, 12.0, True, "how long the launch campaign lasted",
        at_edge="below 0.3 periods the campaign is over within the launch half month, which the model's "
        "half-month step cannot resolve further",
    ),
    Searched(
        "marketing_rate", 1e-4, 0.1, True,
        "steady joining through 2019 (about 27,000 a day); 0.1 a period would bring a fifth of the reachable "
        "adults in a year without word of mouth",
    ),
    Searched("word_of_mouth_rate", 0.0, 1.0, False, "growth to 50M in April and 100M in November 2019"),
    Searched(
        "family_parent_share", 0.0, 1.0, False,
        "19.2% of the aided had been enrolled by family (bbs.bj-qlm.com 2019-11): parents a generation older claim "
        "more than children a generation younger; from children only to parents only",
        requires=(("relative_choice", "generation"),),
    ),
    Searched(
        "join_age_gradient", 0.0, 0.1, False,
        "members' mean age 34.4 in 2020; 0.1 a year makes a 59-year-old 60 times less likely to join than an "
        "18-year-old, beyond any gap in online use (CNNIC 45th report)",
        at_edge="the upper edge is the evidence's bound (the gap in online use by age), and the members' mean age "
        "does not ask for more: at the edge it is below the record's 34.4",
    ),
    Searched(
        "price_attention", 0.005, 1.0, True,
        "members' response to the share; constant rule: a member weighs the charge between once in eight years "
        "(deduction is automatic: Samuelson & Zeckhauser 1988; Handel 2013) and most periods (63% a period at 1, "
        "as if every announced share were weighed)",
        ("constant",),
    ),
    Searched(
        "price_attention", 0.001, 0.1, True,
        "salience rule: the attentive members' base review hazard, as for the constant rule and lower (their "
        "attention also rises with jumps of the share)",
        ("salience",),
        at_edge="the lower edge means attentive members review only when the share jumps",
    ),
    Searched(
        "inattentive_share", 0.3, 0.95, False,
        "how many members never review; around the 78% that automatic enrolment kept (Madrian & Shea 2001)",
        ("salience",),
    ),
    Searched(
        "salience_attention", 0.0, 20.0, False,
        "response to the jumps of the share in 2019-2020; at 20 a rise of a tenth on the reference makes 85% of "
        "the attentive members review, beyond which every noticeable jump reviews them all and the rule is a "
        "threshold",
        ("salience",),
        at_edge="the span reaches 20 because a search on 0-5 ended at 4.92; the calibration to 2020 puts it at "
        "0.51, within 3% of the lower edge yet a response to jumps, not none (its near-best sets 0.49-0.53)",
    ),
    Searched(
        "contagion_strength", 0.0, 0.8, False,
        "exits spreading over ties; at most Nitzan & Libai's +80% a defecting neighbour, itself an upper bound "
        "(Aral et al. 2009)",
        at_edge="the upper edge is the evidence's own upper bound, and the record does not identify the "
        "strength inside it (a flat profile, docs/calibration.md)",
    ),
    Searched(
        "rejoin_propensity", 0.0, 1.0, False,
        "re-joining, relative to an outsider's joining (no re-join rate is published); between never and as "
        "often as an outsider",
        at_edge="the lower edge is never re-joining, which the record, with no gross flow, does not rule out: its "
        "stocks hardly tell a re-join from a new join; the calibration to 2020 puts it at 0.013 (near-best sets "
        "0-0.15)",
    ),
    Searched(
        "select_period_years", 0.02, 20.0, True,
        "how fast claims rise with membership duration: from a week to beyond the plan's life",
    ),
    Searched(
        "select_shape", 0.5, 4.0, False,
        "the curvature of that rise: 24 people aided by April 2019, 2,839 by September and 16,528 in the year; "
        "from concave to a rise that stays flat for a quarter of the select period",
        at_edge="not identified when the select period is shorter than the 90-day wait (the calibration to 2020: "
        "0.075 years): the rise is over before cover begins, whatever its curvature; its near-best sets span the "
        "whole span (docs/calibration.md)",
    ),
    Searched(
        "select_ultimate_factor", 0.05, 1.0, True,
        "members' long-run incidence against the population's: 68,675 aided in 2020; at most the population's "
        "(members were healthier than insured lives at every age: Fang, Qin, Wu & Yu)",
        at_edge="the upper edge is the population's own incidence, which members, healthier than insured lives at "
        "every age (Fang, Qin, Wu & Yu), do not exceed",
    ),
    Searched(
        "claim_awareness_midpoint_periods", 0.0, 48.0, False,
        "when half the ill members knew they could claim: the record's claims per member rise about threefold "
        "across all cohorts at once from August to October 2019; from the launch to two years after it",
    ),
    Searched(
        "claim_awareness_width_periods", 0.1, 24.0, True,
        "how fast that awareness spread: from a step within the half month to a rise over a year",
    ),
    Searched(
        "claim_awareness_age_delay_periods", 0.0, 12.0, False,
        "how much later older members learned they could claim: the aided were young in August 2019 (227,321 CNY "
        "a case: 55% under 40) and old in 2020 (at most 17% of cases under 40 at 133,500 CNY a case); from none "
        "to a year later per decade of age",
        at_edge="the lower edge is awareness the same at every age, the model without the mechanism",
    ),
    Searched(
        "probability_weighting", 0.3, 1.0, False,
        "the curvature of members' decision weights: the record's claims per member flat through 2020 while the "
        "pool's age would drift with a valuation at the risks as they are; from none (1) to beyond Tversky & "
        "Kahneman's 0.69, near the lowest curvature at which the weight still rises with the risk (0.28)",
        at_edge="the upper edge is no weighting at all, the valuation at the risks as they are; the lower edge is "
        "near the curvature below which the weight no longer rises with the risk",
    ),
    Searched("consider_rate_members", 0.002, 0.08, True, "51.5% of members considering insurance, end 2019"),
)  # fmt: skip


def searched_for(stay_rule: str) -> dict[str, Searched]:
    """The searched parameters of `stay_rule`, by name."""
    if stay_rule not in STAY_RULES:
        raise ParameterError(f"stay_rule={stay_rule!r} is not allowed: one of {', '.join(STAY_RULES)}")
    return {s.name: s for s in SEARCHED if stay_rule in s.rules}


def default_parameters(stay_rule: str, fixed: dict[str, Any] | None = None) -> tuple[str, ...]:
    """Every parameter searched under `stay_rule` that acts under the `fixed` values (the
    defaults where not fixed: `Searched.requires`)."""
    values = {**DEFAULTS, **(fixed or {})}
    return tuple(
        name for name, spec in searched_for(stay_rule).items()
        if all(values.get(key) == value for key, value in spec.requires)
    )  # fmt: skip


#: CMA-ES's initial step, as a share of each searched span (of its logarithm for a log
#: span): a tenth keeps the refinement near TPE's best while still crossing a ridge.
REFINE_STEP = 0.1
#: The least-squares stage's finite-difference step, as a share of each searched span: large
#: beside what one agent moves (a member count by 1/200,000 of itself at the calibration's
#: scale), small beside the span.
POLISH_STEP = 0.01
#: The largest |z| the least-squares solver is given: a run without a value where one was
#: observed is far off, and a finite residual keeps the solver's arithmetic finite.
POLISH_MAX_Z = 1e3
NEAR_BEST_CONFIDENCE = 0.95
NEAR_BEST_MINIMUM = 3  # keep at least this many sets even if the confidence set is smaller
#: At most this many near-best sets are kept (assumption: enough to reach the confidence
#: set's extent in its widest directions, few enough that a forecast of two calibrations x
#: 3 replications runs in minutes on two cores). The least-squares stage's Jacobians put
#: dozens of sets a hundredth of a span apart inside the set; all of them would weigh its
#: centre and narrow every interval built on them.
NEAR_BEST_MAXIMUM = 16
#: The exploration aims at this share of the distance to the confidence set's edge along each
#: direction (assumption: just inside, so that a set on the edge of a quadratic distance is
#: not lost to rounding).
EXPLORE_REACH = 0.95
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
        stay_rule: The stay rule calibrated (`stay_rule` parameter).
        parameters: Names of the searched parameters (a subset of `searched_for(stay_rule)`;
            empty: all of them).
        fixed: Other parameter values held fixed.
        batch: Candidates proposed before their results are told to the sampler (run
            at once on the executor); fixed here so that the search does not depend on
            the machine's core count.
        start: Values of searched parameters for the first candidate (the others are
            sampled), e.g. a previous calibration's best set; empty: all sampled.
        refine: Candidates of the CMA-ES stage after the `budget` of TPE, started at TPE's
            best with a step of `REFINE_STEP` of each span (0: none).
        polish: Candidates of the least-squares stage after CMA-ES, started at the best
            set so far (0: none); it stops earlier once the solver has converged.
        explore: Candidates of the confidence-set exploration after the searches (0: none):
            from the best set along the least-identified directions first
            (`explore_confidence_set`).
        estimator: How claim quantities are read from the runs (`targets.ESTIMATORS`):
            `expected` (Poisson-free, the default) or `realised`.
        exit_bound_reading: How the bound on exits is read over the replications
            (`targets.BOUND_READINGS`): on their `mean` (the default) or in
            `every_replication`.
    """

    until: dt.date = dt.date(2020, 12, 31)
    budget: int = 100
    replications: int = 2
    n_agents: int = 200_000
    seed: int = 20181016
    preset: str = "default"
    stay_rule: str = "constant"
    parameters: tuple[str, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)
    batch: int = 2
    start: dict[str, float] = field(default_factory=dict)
    estimator: str = "expected"
    refine: int = 0
    polish: int = 0
    explore: int = 0
    exit_bound_reading: str = "mean"

    def __post_init__(self) -> None:
        if not self.parameters and self.stay_rule in STAY_RULES:
            object.__setattr__(self, "parameters", default_parameters(self.stay_rule, self.fixed))

    def validate(self) -> None:
        """Raise ParameterError naming the setting that is not allowed."""
        if self.budget < 1:
            raise ParameterError(f"budget={self.budget}: allowed 1 or more candidate sets")
        if self.refine < 0:
            raise ParameterError(f"refine={self.refine}: allowed 0 (no CMA-ES stage) or more candidate sets")
        if self.polish < 0:
            raise ParameterError(f"polish={self.polish}: allowed 0 (no least-squares stage) or more candidate sets")
        if self.explore < 0:
            raise ParameterError(f"explore={self.explore}: allowed 0 (no exploration) or more candidate sets")
        if self.batch < 1:
            raise ParameterError(f"batch={self.batch}: allowed 1 or more candidates at a time")
        if self.replications < 1:
            raise ParameterError(f"replications={self.replications}: allowed 1 or more")
        if self.estimator not in ESTIMATORS:
            raise ParameterError(f"estimator={self.estimator!r} is not allowed: one of {', '.join(ESTIMATORS)}")
        if self.exit_bound_reading not in BOUND_READINGS:
            raise ParameterError(
                f"exit_bound_reading={self.exit_bound_reading!r} is not allowed: one of {', '.join(BOUND_READINGS)}"
            )
        searched = searched_for(self.stay_rule)
        unknown = [name for name in self.parameters if name not in searched]
        if unknown:
            raise ParameterError(
                f"cannot calibrate {', '.join(unknown)} under stay_rule={self.stay_rule}: calibrated are "
                f"{', '.join(searched)}"
            )
        if not self.parameters:
            raise ParameterError("parameters: name at least one parameter to calibrate")
        both = sorted(set(self.parameters) & set(self.fixed))
        if both:
            raise ParameterError(f"fixed: {', '.join(both)} cannot be both fixed and calibrated")
        for name, value in self.start.items():
            if name not in self.parameters:
                raise ParameterError(f"start: {name} is not calibrated here: allowed {', '.join(self.parameters)}")
            spec = searched[name]
            if not spec.low <= value <= spec.high:
                raise ParameterError(
                    f"start: {name}={value!r} is outside its searched span: allowed [{spec.low:g}, {spec.high:g}]"
                )
        self.model_parameters()

    def base(self) -> dict[str, Any]:
        """Parameter values every candidate runs with, beside its own."""
        return {**self.fixed, "stay_rule": self.stay_rule, "n_agents": self.n_agents}

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
    """The targets of a calibration: observations on or before the cutoff, and the bounds
    on what the record does not report (`targets.bound_targets`)."""
    observations = load_observations() if observations is None else observations
    launch = settings.calendar().launch_date
    measured = build_targets(
        observations, settings.people_per_agent(), settings.replications, settings.until, launch, settings.estimator
    )
    return measured + bound_targets(settings.until)


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
        simulated = simulate_targets(targets, runs, calendar, settings.exit_bound_reading)
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
    searched = searched_for(settings.stay_rule)
    distributions = {
        name: optuna.distributions.FloatDistribution(searched[name].low, searched[name].high, log=searched[name].log)
        for name in settings.parameters
    }
    # constant_liar: candidates asked in one batch are kept apart instead of coinciding.
    sampler = optuna.samplers.TPESampler(
        seed=settings.seed,
        n_startup_trials=min(20, max(1, settings.budget // 3)),
        multivariate=True,
        constant_liar=True,
    )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    if settings.start:
        study.enqueue_trial(dict(settings.start))
    rows: list[dict] = []
    while len(rows) < settings.budget:
        trials = [study.ask(distributions) for _ in range(min(settings.batch, settings.budget - len(rows)))]
        candidates = [dict(trial.params) for trial in trials]
        outcomes = evaluate(settings, targets, candidates, executor)
        for trial, candidate, (value, _, _) in zip(trials, candidates, outcomes, strict=True):
            study.tell(trial, value)
            rows.append({"trial": trial.number, "stage": "tpe", **candidate, "distance": value})
        if progress is not None:
            progress(len(rows), min(r["distance"] for r in rows))
    if settings.refine:
        refine(settings, targets, executor, rows, progress)
    if settings.polish:
        polish(settings, targets, executor, rows, progress)
    if settings.explore:
        explore_confidence_set(settings, targets, executor, rows, progress)
    table = pd.DataFrame(rows).sort_values("trial", ignore_index=True)
    used = sum(t.used for t in targets)
    table["sum_z2"] = table["distance"] * used
    near = near_best(table, len(settings.parameters), [searched[name] for name in settings.parameters])
    best = {name: float(table.loc[table["distance"].idxmin(), name]) for name in settings.parameters}
    return Calibration(settings, targets, table, best, near)


def refine(
    settings: CalibrationSettings,
    targets: list[Target],
    executor,
    rows: list[dict],
    progress: Callable[[int, float], None] | None = None,
) -> None:
    """CMA-ES from the best candidate in `rows`: `settings.refine` more candidates appended
    to `rows` (stage "cma-es").

    The search runs on each span mapped to [0, 1] (its logarithm for a log span), from the
    best candidate with step `REFINE_STEP`; a generation's candidates run together.
    """
    specs, start = _best_in_units(settings, rows)
    optimizer = CMA(
        mean=start,
        sigma=REFINE_STEP,
        bounds=np.tile([0.0, 1.0], (len(specs), 1)),
        seed=settings.seed,
    )
    stop = len(rows) + settings.refine
    while len(rows) < stop:
        points = [optimizer.ask() for _ in range(optimizer.population_size)]
        # The last generation may be cut short by the budget; it is then not told.
        points = points[: stop - len(rows)]
        candidates = [{spec.name: from_unit(x, spec) for spec, x in zip(specs, point, strict=True)} for point in points]
        outcomes = evaluate(settings, targets, candidates, executor)
        for candidate, (value, _, _) in zip(candidates, outcomes, strict=True):
            rows.append({"trial": len(rows), "stage": "cma-es", **candidate, "distance": value})
        if len(points) == optimizer.population_size:
            optimizer.tell([(point, value) for point, (value, _, _) in zip(points, outcomes, strict=True)])
        if progress is not None:
            progress(len(rows), min(row["distance"] for row in rows))


def _best_in_units(settings: CalibrationSettings, rows: list[dict]) -> tuple[list[Searched], np.ndarray]:
    """The searched parameters and the best candidate in `rows` in their unit coordinates,
    where the CMA-ES and least-squares stages start."""
    searched = searched_for(settings.stay_rule)
    specs = [searched[name] for name in settings.parameters]
    best = min(rows, key=lambda row: row["distance"])
    return specs, np.array([to_unit(best[spec.name], spec) for spec in specs], dtype=float)


class _PolishBudgetSpent(Exception):
    """The least-squares stage has run all its candidates."""


def polish(
    settings: CalibrationSettings,
    targets: list[Target],
    executor,
    rows: list[dict],
    progress: Callable[[int, float], None] | None = None,
) -> None:
    """Least squares from the best candidate in `rows`: up to `settings.polish` more
    candidates appended to `rows` (stage "least-squares").

    Minimises the summed z^2 of the targets used, as the distance does, by scipy's
    trust-region reflective solver on each span mapped to [0, 1]. The Jacobian is forward
    differences of `POLISH_STEP` (backward at the upper end), the base point and its
    shifts run as one batch.
    """
    from scipy.optimize import least_squares

    specs, start = _best_in_units(settings, rows)
    evaluate_z = _z_in_units(settings, targets, specs, executor)
    stop = len(rows) + settings.polish
    residuals_at: dict[bytes, np.ndarray] = {}

    def run(points: list[np.ndarray]) -> list[np.ndarray]:
        todo = list({point.tobytes(): point for point in points if point.tobytes() not in residuals_at}.values())
        room = stop - len(rows)
        if todo[:room]:
            for point, (candidate, value, z) in zip(todo, evaluate_z(todo[:room]), strict=False):
                rows.append({"trial": len(rows), "stage": "least-squares", **candidate, "distance": value})
                residuals_at[point.tobytes()] = z
            if progress is not None:
                progress(len(rows), min(row["distance"] for row in rows))
        if len(todo) > room:
            raise _PolishBudgetSpent
        return [residuals_at[point.tobytes()] for point in points]

    def residuals(x: np.ndarray) -> np.ndarray:
        return run([np.asarray(x, dtype=float)])[0]

    def jacobian(x: np.ndarray) -> np.ndarray:
        steps, points = _difference_points(np.asarray(x, dtype=float))
        return _difference_quotients(run(points), steps)

    try:
        least_squares(residuals, start, jac=jacobian, bounds=(0.0, 1.0), method="trf", max_nfev=settings.polish)
    except _PolishBudgetSpent:
        pass


def _difference_points(x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The steps of a forward-difference Jacobian at `x` in unit coordinates (`POLISH_STEP`,
    backward at the upper end) and the points to run: `x` itself, then `x` shifted along
    each coordinate."""
    steps = np.where(x + POLISH_STEP <= 1.0, POLISH_STEP, -POLISH_STEP)
    return steps, [x, *[x + step * unit for step, unit in zip(steps, np.eye(len(x)), strict=True)]]


def _difference_quotients(z_at_points: list[np.ndarray], steps: np.ndarray) -> np.ndarray:
    """The Jacobian from the z at the points of `_difference_points`."""
    base, *moved = z_at_points
    return np.column_stack([(z - base) / step for z, step in zip(moved, steps, strict=True)])


def _z_in_units(settings: CalibrationSettings, targets: list[Target], specs: list[Searched], executor):
    """A function from points in unit coordinates to (candidate, distance, z of the used
    targets) for each, run as one batch."""
    used = np.array([t.used for t in targets])

    def run(points: list[np.ndarray]) -> list[tuple[dict, float, np.ndarray]]:
        candidates = [{spec.name: from_unit(x, spec) for spec, x in zip(specs, point, strict=True)} for point in points]
        results = []
        for candidate, (value, simulated, _) in zip(
            candidates, evaluate(settings, targets, candidates, executor), strict=True
        ):
            z = standardised_errors(targets, simulated)[used]
            results.append((candidate, value, np.clip(np.nan_to_num(z, nan=POLISH_MAX_Z), -POLISH_MAX_Z, POLISH_MAX_Z)))
        return results

    return run


def explore_confidence_set(
    settings: CalibrationSettings,
    targets: list[Target],
    executor,
    rows: list[dict],
    progress: Callable[[int, float], None] | None = None,
) -> None:
    """Sets at the edge of the confidence set, least-identified directions first: up to
    `settings.explore` more candidates appended to `rows` (stage "explore").

    The searches crowd around the best set; where the data hardly constrain a combination
    of parameters, the likelihood-ratio confidence set stretches far along it and a search
    never goes there, so intervals built on the sets it visited are too narrow. Near the
    best set x0 the summed z^2 is about S0 + d' H d with H = J'J, J the Jacobian of the
    used targets' z in unit coordinates (forward differences of `POLISH_STEP`, run as one
    batch). Along each eigenvector v of H, from the smallest eigenvalue up, the set's edge
    lies at x0 +- sqrt(c / lambda) v, c the chi-square quantile of `confidence_threshold`;
    the step goes `EXPLORE_REACH` of the way, cut to stay inside the spans. A point beyond
    the set's true threshold (the summed z^2 is not quadratic that far) is tried again at
    half the step, once. Every set
    run joins the trials, so the near-best sets are chosen from them by the same rule as
    from the searches' (Kreutz et al. 2012, BMC Systems Biology 6:120: predictions
    carry the parameter uncertainty of the whole likelihood-ratio set).
    """
    specs, x0 = _best_in_units(settings, rows)
    n = len(specs)
    run = _z_in_units(settings, targets, specs, executor)
    room = settings.explore
    if room < n + 1:
        return  # not enough for a Jacobian: nothing to explore along
    steps, points = _difference_points(x0)
    evaluated = run(points)
    room -= n + 1
    jacobian = _difference_quotients([z for _, _, z in evaluated], steps)
    for candidate, value, _ in evaluated[1:]:  # the first is the best set again, not a new trial
        rows.append({"trial": len(rows), "stage": "explore", **candidate, "distance": value})
    used = jacobian.shape[0]
    margin = float(chi2.ppf(NEAR_BEST_CONFIDENCE, n))
    threshold = confidence_threshold(min(row["distance"] for row in rows) * used, n)
    eigenvalues, eigenvectors = np.linalg.eigh(jacobian.T @ jacobian)
    for eigenvalue, direction in zip(eigenvalues, eigenvectors.T, strict=True):
        if room < 2:
            break
        reach = EXPLORE_REACH * np.sqrt(margin / max(eigenvalue, 1e-12))
        points = [x0 + sign * _inside_unit_box(x0, sign * direction, reach) * direction for sign in (1.0, -1.0)]
        outcomes = run(points)
        room -= 2
        retries = [
            x0 + (point - x0) / 2
            for point, (_, value, _) in zip(points, outcomes, strict=True)
            if value * used > threshold * (1 + 1e-9)  # beyond the set, not by rounding
        ][:room]
        outcomes += run(retries) if retries else []
        room -= len(retries)
        for candidate, value, _ in outcomes:
            rows.append({"trial": len(rows), "stage": "explore", **candidate, "distance": value})
        if progress is not None:
            progress(len(rows), min(row["distance"] for row in rows))


def _inside_unit_box(x: np.ndarray, direction: np.ndarray, reach: float) -> float:
    """The largest step up to `reach` along `direction` from `x` that stays in [0, 1]."""
    limits = [reach]
    for xi, di in zip(x, direction, strict=True):
        if di > 0:
            limits.append((1.0 - xi) / di)
        elif di < 0:
            limits.append(-xi / di)
    return max(0.0, min(limits))


def to_unit(value: float, spec: Searched) -> float:
    """A value's position in its searched span, 0 at the low end and 1 at the high (of
    the logarithm for a log span)."""
    if spec.log:
        return (np.log(value) - np.log(spec.low)) / (np.log(spec.high) - np.log(spec.low))
    return (value - spec.low) / (spec.high - spec.low)


def from_unit(unit: float, spec: Searched) -> float:
    """The value at position `unit` (0-1) of its searched span; the inverse of `to_unit`."""
    # The ends exactly: exp(log(low)) may fall a rounding error outside the span.
    if unit <= 0.0:
        return float(spec.low)
    if unit >= 1.0:
        return float(spec.high)
    if spec.log:
        return float(np.exp(np.log(spec.low) + unit * (np.log(spec.high) - np.log(spec.low))))
    return float(spec.low + unit * (spec.high - spec.low))


def confidence_threshold(best_sum_z2: float, n_parameters: int) -> float:
    """Largest summed z^2 inside the likelihood-ratio confidence set of the best set."""
    return best_sum_z2 + float(chi2.ppf(NEAR_BEST_CONFIDENCE, n_parameters))


def inside_confidence_set(trials: pd.DataFrame, n_parameters: int) -> pd.DataFrame:
    """Every candidate within the likelihood-ratio confidence set of the best one (at
    least `NEAR_BEST_MINIMUM`), best first."""
    threshold = confidence_threshold(trials["sum_z2"].min(), n_parameters)
    ordered = trials.sort_values("sum_z2", kind="stable")
    inside = ordered[ordered["sum_z2"] <= threshold]
    return (inside if len(inside) >= NEAR_BEST_MINIMUM else ordered.head(NEAR_BEST_MINIMUM)).reset_index(drop=True)


def near_best(trials: pd.DataFrame, n_parameters: int, specs: list[Searched] | None = None) -> pd.DataFrame:
    """The near-best candidates: those in the confidence set (`inside_confidence_set`),
    thinned with `specs` (the searched parameters) to its extent (`spread_out`)."""
    inside = inside_confidence_set(trials, n_parameters)
    return inside if specs is None else spread_out(inside, specs)


def spread_out(sets: pd.DataFrame, specs: list[Searched], maximum: int = NEAR_BEST_MAXIMUM) -> pd.DataFrame:
    """At most `maximum` of `sets` (best first): the first, then one at a time the set
    farthest, in the searched spans' unit coordinates, from every set kept (farthest-point
    sampling; ties go to the earlier, better set). Keeps the order of `sets`."""
    if len(sets) <= maximum:
        return sets.reset_index(drop=True)
    units = np.array([[to_unit(value, spec) for value in sets[spec.name]] for spec in specs]).T
    kept = [0]
    nearest = np.linalg.norm(units - units[0], axis=1)
    while len(kept) < maximum:
        farthest = int(np.argmax(nearest))
        kept.append(farthest)
        nearest = np.minimum(nearest, np.linalg.norm(units - units[farthest], axis=1))
    return sets.iloc[sorted(kept)].reset_index(drop=True)


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
    searched = searched_for(settings.stay_rule)
    for name in settings.parameters:
        spec = searched[name]
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
        like, settings.people_per_agent(), replications, settings.until, settings.calendar().launch_date,
        settings.estimator,
    )  # fmt: skip
    ((_, simulated, _),) = evaluate(data_settings, template, [true_params])
    synthetic = like[like["date"] <= settings.until].copy() if settings.until else like.copy()
    synthetic = synthetic[synthetic["plan"] == "critical_illness"].reset_index(drop=True)
    synthetic["value"] = simulated
    synthetic["source"] = f"simulated at {true_params}"
    synthetic = synthetic[np.isfinite(synthetic["value"])]
    return synthetic
