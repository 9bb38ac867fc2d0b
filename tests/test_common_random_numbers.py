"""Common random numbers: replication k has one seed at every design point, and differences
between policies paired by seed carry far less noise than differences of independent runs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from huzhu import MutualAidModel
from huzhu.experiments.designs import build_design
from huzhu.experiments.experiment_file import parse_experiment
from huzhu.experiments.results import load
from huzhu.experiments.seeding import replication_seed, replication_seeds
from huzhu.experiments.summaries import summarise_run
from huzhu.experiments.sweep import experiment_tasks, run_experiment

N_AGENTS = 20_000  # about 0.45 s a run
FEE_RATES = (0.08, 0.15)
METRIC = "members_at_announcement"


def fee_experiment(replications: int, seed: int = 2019, **extra_factors) -> dict:
    return {
        "name": "fees",
        "seed": seed,
        "replications": replications,
        "base": {"n_agents": N_AGENTS},
        "factors": {"fee_rate": {"values": list(FEE_RATES)}, **extra_factors},
        "outputs": {"timeseries": False, "summaries": [METRIC, "peak_members"]},
    }


def test_replication_k_runs_with_the_same_seed_at_every_design_point():
    experiment = parse_experiment(fee_experiment(5, price_sensitivity={"values": [1.0, 2.0, 3.0]}))
    design = build_design(experiment)
    tasks = experiment_tasks(experiment, design)
    assert len(tasks) == 6 * 5
    assert [t.run_id for t in tasks] == list(range(30))  # point-major, replication-minor
    assert [(t.point, t.replication) for t in tasks] == [(p, k) for p in range(6) for k in range(5)]
    seeds = replication_seeds(experiment.seed, 5)
    assert len(set(seeds)) == 5  # replications differ from each other ...
    for task in tasks:
        assert task.seed == seeds[task.replication]  # ... and not between points
        row = design.iloc[task.point]
        assert task.params == {
            "n_agents": N_AGENTS,
            "fee_rate": row["fee_rate"],
            "price_sensitivity": row["price_sensitivity"],
        }
    # The seed of replication k depends on the experiment seed and k alone, not on the design
    # or the number of replications, so two experiments with one seed share their luck.
    other = parse_experiment({**fee_experiment(3), "factors": {"price_attention": {"values": [0.02]}}})
    assert [t.seed for t in experiment_tasks(other, build_design(other))] == seeds[:3]
    assert replication_seed(experiment.seed + 1, 0) != seeds[0]
    assert all(0 <= s < 2**63 for s in seeds)


def summary(seed: int, fee_rate: float) -> float:
    model = MutualAidModel(n_agents=N_AGENTS, rng=seed, fee_rate=fee_rate)
    table = model.run()
    return summarise_run(table, model.platform.announced_period, (METRIC,))[METRIC]


def test_paired_differences_under_common_random_numbers_have_far_lower_variance_than_independent_ones():
    seeds = list(range(1, 9))  # R = 8
    low = np.array([summary(s, FEE_RATES[0]) for s in seeds])
    high = np.array([summary(s, FEE_RATES[1]) for s in seeds])
    # Common random numbers: both arms of pair k run with seed k. Independent: arm one of
    # seed k against arm two of seed k + 1 (cyclically), so each run is in one pair and the
    # eight independent differences are mutually independent, with no extra runs.
    common = high - low
    independent = np.roll(high, -1) - low
    assert np.any(common != 0)  # the fee rate does change the outcome
    ratio = np.var(independent, ddof=1) / np.var(common, ddof=1)
    # Pilot (20,000 agents, fee 0.08 vs 0.15, seeds 1-40 in five blocks of 8): the variance
    # ratio was 155 (seeds 1-8, measured here), 1399, 642, 141 and 158; 252 over all 40
    # (sd of a difference 1.6e6 paired, 2.6e7 independent, members of 1.0e8 at the
    # announcement). Requiring 20 is 7x below the smallest block; for normal differences
    # the estimated ratio is the true one times F(7, 7), and P(F(7, 7) < 20 / 252) = 0.2%.
    assert ratio > 20, f"variance ratio independent / common = {ratio:.1f}"


def test_a_swept_policy_comparison_is_paired_by_replication(tmp_path):
    replications = 4
    experiment = parse_experiment(fee_experiment(replications))
    report = run_experiment(experiment, tmp_path / "fees", executor="sequential", progress=False)
    assert (report.total, report.ran, report.failed) == (2 * replications, 2 * replications, 0)
    results = load(tmp_path / "fees")
    summaries = results.summaries
    by_point = summaries.pivot(index="replication", columns="point", values="seed")
    assert (by_point[0] == by_point[1]).all()  # the runs of replication k share one seed

    differences = results.paired_differences(METRIC, baseline=0).set_index("point")
    # The baseline minus itself is zero in every replication, exactly.
    assert differences.loc[0, ["mean", "sd", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert differences.loc[0, "n"] == replications

    statistics = results.statistics(METRIC).set_index("point")
    mean_difference = statistics.loc[1, "mean"] - statistics.loc[0, "mean"]
    assert differences.loc[1, "mean"] == pytest.approx(mean_difference, rel=1e-12, abs=1e-6)
    # The unpaired 95% interval of the difference of means: pooled two-sample t, 2R - 2 df.
    n = replications
    pooled = np.sqrt((statistics.loc[0, "sd"] ** 2 + statistics.loc[1, "sd"] ** 2) / 2)
    unpaired_width = 2 * stats.t.ppf(0.975, 2 * n - 2) * pooled * np.sqrt(2 / n)
    paired_width = differences.loc[1, "ci_high"] - differences.loc[1, "ci_low"]
    # With the pilot's sds (1.6e6 paired, 1.75e7 per arm), the expected width ratio at R = 4
    # is t(3) 1.6e6 / (t(6) sqrt(2) 1.75e7) = 0.084; a half is six times that. For normal
    # runs the squared ratio varies as F(3, 6), and P(F(3, 6) > (0.5 / 0.084)^2) = 0.03%.
    assert paired_width < unpaired_width / 2, (paired_width, unpaired_width)
