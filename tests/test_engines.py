"""The vectorised engine and the per-agent reference path tell the same story.

The two engines share every rule function but differ in scheduling (all agents at once
against one agent at a time in random order) and in their random draws, so they agree
in distribution, not run by run. The reference path runs AGENT_SEEDS seeds and the
vectorised engine, a hundred times faster, VECTORISED_SEEDS; an output agrees when
Welch's t-test of the two means gives p above ALPHA / len(OUTPUTS) (Bonferroni, so that
all the outputs together raise a false alarm in at most ALPHA of suites).

The runs use 1,000 agents with illness five times as frequent and benefits a fifth as
large as the defaults (same expected cost): at this size the defaults give a case every
few periods, and the share would be mostly noise.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import stats

from huzhu import MutualAidModel
from huzhu.model.parameters import resolve_parameters

N_AGENTS = 1_000
AGENT_SEEDS = tuple(range(1, 9))
# Seeds of their own: the two engines' runs are compared as independent samples.
VECTORISED_SEEDS = tuple(range(101, 125))
ALPHA = 0.001  # family-wise false-alarm rate of the agreement test (the runs are seeded: same p every suite)
SETTINGS = {
    "population": N_AGENTS * 400.0,
    "covered_illness_factor": 6.65,
    "benefit_young_cny": 60_000.0,
    "benefit_old_cny": 20_000.0,
}
OUTPUTS = (
    "members 2019-06",
    "members 2020-06",
    "members 2021-06",
    "joins",
    "claims",
    "exits over price",
    "exits other",
    "exits ill in waiting",
    "aged out",
    "expected cost 2020",
    "expected claims",
    "joins by family",
    "expected claims of the family-enrolled",
)
PRICE_PERTURBATION = 3.0


def outputs(
    engine: str, seed: int, perturb: bool = False, stay_rule: str = "constant", relative_choice: str = "neighbour"
) -> np.ndarray:
    """The compared outputs of one run (people, or CNY per member per period)."""
    settings = dict(SETTINGS)
    if perturb:
        # A deliberately wrong rule: the price part of the exit hazard tripled (under the
        # constant stay rule it is price attention x price pressure).
        settings["price_attention"] = PRICE_PERTURBATION * resolve_parameters({})["price_attention"]
    table = MutualAidModel(
        n_agents=N_AGENTS, rng=seed, engine=engine, stay_rule=stay_rule, relative_choice=relative_choice, **settings
    ).run()
    by_date = table.set_index("date")
    year_2020 = table[table["date"].dt.year == 2020]
    return np.array(
        [
            by_date.loc["2019-06-16", "members"],
            by_date.loc["2020-06-16", "members"],
            by_date.loc["2021-06-16", "members"],
            table["joins"].sum(),
            table["claims"].sum(),
            table["exits_price"].sum(),
            table["exits_other"].sum(),
            table["exits_ill_in_waiting"].sum(),
            table["aged_out"].sum(),
            year_2020["expected_cost_per_member"].mean(),
            table["expected_claims"].sum(),
            table["joins_family"].sum(),
            table["expected_claims_family"].sum(),
        ]
    )


def _run(args) -> np.ndarray:
    return outputs(*args)


@pytest.fixture(scope="module")
def runs() -> dict[str, np.ndarray]:
    jobs = {
        "vectorised": [("vectorised", s) for s in VECTORISED_SEEDS],
        "agents": [("agents", s) for s in AGENT_SEEDS],
        # The comparison's power does not depend on which side carries the perturbation
        # (the engines agree in distribution), so the fast engine carries it.
        "vectorised_perturbed": [("vectorised", s, True) for s in VECTORISED_SEEDS],
        "vectorised_salience": [("vectorised", s, False, "salience") for s in VECTORISED_SEEDS],
        "agents_salience": [("agents", s, False, "salience") for s in AGENT_SEEDS],
        "vectorised_generation": [("vectorised", s, False, "constant", "generation") for s in VECTORISED_SEEDS],
        "agents_generation": [("agents", s, False, "constant", "generation") for s in AGENT_SEEDS],
    }
    # spawn: fresh workers (no fork of a threaded process); each patches only its own copy.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return {name: np.array(list(pool.map(_run, args))) for name, args in jobs.items()}


def agreement_p_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's two-sided p for equal means, per output (1 where both samples are one constant)."""
    p = stats.ttest_ind(a, b, axis=0, equal_var=False).pvalue
    constant_and_equal = (a.var(axis=0) == 0) & (b.var(axis=0) == 0) & (a.mean(axis=0) == b.mean(axis=0))
    return np.where(constant_and_equal, 1.0, p)


THRESHOLD = ALPHA / len(OUTPUTS)


@pytest.mark.parametrize("variant", ["constant", "salience", "generation"])
def test_reference_path_and_vectorised_engine_agree_in_distribution(runs, variant):
    # constant and salience: the stay rules (relatives among ties); generation: the
    # constant rule with relatives a generation away.
    suffix = "" if variant == "constant" else f"_{variant}"
    p = agreement_p_values(runs[f"vectorised{suffix}"], runs[f"agents{suffix}"])
    disagreeing = {name: float(v) for name, v in zip(OUTPUTS, p, strict=True) if not v > THRESHOLD}
    assert not disagreeing, f"outputs whose engines differ (Welch p <= {THRESHOLD:.1e}): {disagreeing}"


def test_a_perturbed_rule_in_one_engine_is_detected_by_the_comparison(runs):
    p = agreement_p_values(runs["agents"], runs["vectorised_perturbed"])
    assert p.min() <= THRESHOLD, f"tripling the price exit hazard went unnoticed: p = {p}"


def test_the_reference_path_is_driven_by_mesa_agents_and_writes_the_same_arrays():
    model = MutualAidModel(n_agents=500, rng=3, engine="agents")
    for _ in range(10):
        model.step()
    views = model.agents_by_type[model.member(0).__class__]
    assert len(views) == 500
    counts = np.bincount(model.population.state, minlength=6)
    assert sum(counts) == 500
    assert counts[1] + counts[2] == sum(agent.is_member for agent in views)
