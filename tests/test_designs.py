"""Designs and seeds: where an experiment runs the model, and with which random numbers."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from huzhu.experiments.designs import build_design, point_parameters, salib_problem, unit_sample, unit_to_values
from huzhu.experiments.experiment_file import Factor, load_experiment, parse_experiment
from huzhu.experiments.seeding import replication_seed, replication_seeds
from huzhu.experiments.sweep import experiment_tasks

RANGES = {
    "fee_rate": {"low": 0.0, "high": 0.2},
    "price_sensitivity": {"low": 1.0, "high": 4.0},
    "marketing_rate": {"low": 0.001, "high": 0.01, "distribution": "loguniform"},
}


def experiment(factors: dict, design: dict, seed: int = 11, replications: int = 1, **top):
    return parse_experiment(
        {
            "name": "design_test",
            "seed": seed,
            "replications": replications,
            "base": {"n_agents": 2000},
            "factors": factors,
            "design": design,
            **top,
        }
    )


def units(table: pd.DataFrame, factors) -> np.ndarray:
    return table[[f"unit.{name}" for name in factors]].to_numpy()


def table_hash(table: pd.DataFrame) -> str:
    # to_csv writes floats with repr, which round-trips: equal text means equal tables.
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()


# ------------------------------------------------------------------ grid


def test_a_grid_runs_every_combination_of_the_listed_values_once():
    values = {
        "fee_rate": [0.0, 0.08, 0.15],
        "network_type": ["watts_strogatz", "barabasi_albert", "erdos_renyi", "homophilous"],
        "preset": ["default", "no_contagion"],
    }
    table = build_design(experiment({name: {"values": v} for name, v in values.items()}, {"kind": "grid"}))
    assert len(table) == 3 * 4 * 2
    assert table["point"].tolist() == list(range(24))
    combinations = list(table[list(values)].itertuples(index=False, name=None))
    assert sorted(combinations) == sorted(itertools.product(*values.values()))


def test_grid_levels_are_evenly_spaced_and_include_both_ends():
    table = build_design(experiment({"fee_rate": {"low": 0.0, "high": 0.3, "levels": 4}}, {"kind": "grid"}))
    levels = table["fee_rate"].to_numpy()
    assert len(levels) == 4
    assert levels[0] == 0.0 and levels[-1] == 0.3
    np.testing.assert_allclose(np.diff(levels), 0.1, rtol=1e-12)


@pytest.mark.parametrize(
    "name, low, high, expected",
    # linspace(0, 10, 4) = 0, 3.33, 6.67, 10 and linspace(2, 12, 4) = 2, 5.33, 8.67, 12, rounded to the nearest
    [("waiting_periods", 0, 10, [0, 3, 7, 10]), ("mean_degree", 2, 12, [2, 5, 9, 12])],
)
def test_grid_levels_of_an_integer_parameter_are_rounded_to_integers(name, low, high, expected):
    exp = experiment({name: {"low": low, "high": high, "levels": 4}}, {"kind": "grid"})
    table = build_design(exp)
    assert table[name].tolist() == expected
    assert pd.api.types.is_integer_dtype(table[name])
    _, params = point_parameters(exp, table.to_dict("records")[1])
    assert type(params[name]) is int  # what the model receives is a Python int


def test_a_grid_never_repeats_a_point_when_rounding_merges_levels():
    # linspace(0, 2, 5) = 0, 0.5, 1, 1.5, 2 rounds to 0, 0, 1, 2, 2
    table = build_design(experiment({"waiting_periods": {"low": 0, "high": 2, "levels": 5}}, {"kind": "grid"}))
    assert table["waiting_periods"].tolist() == [0, 1, 2]


def test_a_grid_without_factors_is_the_base_scenario_once():
    exp = experiment({}, {"kind": "grid"})
    table = build_design(exp)
    assert len(table) == 1
    assert table.loc[0, "label"] == "base"
    assert point_parameters(exp, table.to_dict("records")[0]) == ("default", {"n_agents": 2000})


# ------------------------------------------------------------------ Latin hypercube


def test_a_latin_hypercube_has_one_point_in_every_stratum_of_every_factor():
    n = 17
    exp = experiment(RANGES, {"kind": "lhs", "samples": n})
    table = build_design(exp)
    unit = units(table, RANGES)
    assert unit.shape == (n, 3)
    assert ((unit >= 0) & (unit < 1)).all()
    for column in unit.T:
        assert sorted(np.floor(column * n).astype(int)) == list(range(n))


def test_latin_hypercube_values_are_the_unit_coordinates_mapped_into_the_range():
    factors = {**RANGES, "waiting_periods": {"low": 0, "high": 12}}
    table = build_design(experiment(factors, {"kind": "lhs", "samples": 40}))
    for name, spec in factors.items():
        values = table[name].to_numpy()
        assert (values >= spec["low"]).all() and (values <= spec["high"]).all(), name
    u = table["unit.fee_rate"].to_numpy()
    np.testing.assert_allclose(table["fee_rate"], 0.2 * u, rtol=1e-12, atol=1e-15)
    u = table["unit.waiting_periods"].to_numpy()
    assert table["waiting_periods"].tolist() == np.rint(12 * u).astype(int).tolist()


def test_loguniform_maps_the_unit_median_to_the_geometric_mean_and_the_ends_to_the_bounds():
    factor = Factor("marketing_rate", low=0.001, high=0.01, distribution="loguniform")
    values = unit_to_values(np.array([[0.0], [0.5], [1.0]]), (factor,))["marketing_rate"].to_numpy()
    assert values[0] == pytest.approx(0.001, rel=1e-12)
    assert values[1] == pytest.approx(math.sqrt(0.001 * 0.01), rel=1e-12)
    assert values[2] == pytest.approx(0.01, rel=1e-12)


def test_triangular_maps_the_unit_interval_onto_the_range_with_its_mode_at_the_right_quantile():
    low, mode, high = 1.0, 1.5, 4.0
    factor = Factor("price_sensitivity", low=low, high=high, distribution="triangular", mode=mode)
    c = (mode - low) / (high - low)  # the triangular CDF at the mode
    values = unit_to_values(np.array([[0.0], [c], [1.0]]), (factor,))["price_sensitivity"].to_numpy()
    # u = 1 is clipped to 1 - 2**-53, and near the top F^-1(u) = high - (high - low) * sqrt((1 - c)(1 - u)):
    # 3 * sqrt(0.83 * 1.1e-16) = 3e-8 below high.
    np.testing.assert_allclose(values, [low, mode, high], rtol=0, atol=1e-7)


@pytest.mark.parametrize("n", [50, 400])
def test_a_triangular_factor_in_a_latin_hypercube_has_the_triangular_mean(n):
    low, mode, high = 1.0, 1.5, 4.0
    spec = {"low": low, "high": high, "distribution": "triangular", "mode": mode}
    table = build_design(experiment({"price_sensitivity": spec}, {"kind": "lhs", "samples": n}))
    values = table["price_sensitivity"].to_numpy()
    assert (values >= low).all() and (values <= high).all()
    # Tolerance: the quantile function F^-1 is increasing, and a Latin hypercube puts one u in each
    # stratum [i/n, (i+1)/n). There both F^-1(u) and the stratum's mean of F^-1 lie in
    # [F^-1(i/n), F^-1((i+1)/n)], so the sample mean is within (1/n) * sum of those widths
    # = (high - low) / n of the exact mean (low + mode + high) / 3, whatever the draw.
    assert abs(values.mean() - (low + mode + high) / 3) <= (high - low) / n + 1e-12


# ------------------------------------------------------------------ Sobol (Saltelli)


def test_a_sobol_design_has_saltelli_blocks_a_then_each_a_with_one_column_of_b_then_b():
    n, d = 8, len(RANGES)
    exp = experiment(RANGES, {"kind": "sobol", "samples": n, "second_order": False})
    table = build_design(exp)
    assert len(table) == n * (d + 2)
    unit = units(table, RANGES)
    np.testing.assert_array_equal(unit, unit_sample(exp))
    assert ((unit >= 0) & (unit < 1)).all()
    for block in unit.reshape(n, d + 2, d):
        a, ab, b = block[0], block[1 : d + 1], block[d + 1]
        assert not np.any(a == b)  # independent samples (a tie has probability zero)
        for i in range(d):
            expected = a.copy()
            expected[i] = b[i]
            np.testing.assert_array_equal(ab[i], expected)
    for name, spec in RANGES.items():
        assert table[name].between(spec["low"], spec["high"]).all(), name


def test_a_second_order_sobol_design_adds_each_b_with_one_column_of_a():
    n, d = 4, len(RANGES)
    exp = experiment(RANGES, {"kind": "sobol", "samples": n, "second_order": True})
    unit = units(build_design(exp), RANGES)
    assert unit.shape == (n * (2 * d + 2), d)
    for block in unit.reshape(n, 2 * d + 2, d):
        a, b = block[0], block[-1]
        for i in range(d):
            ab, ba = a.copy(), b.copy()
            ab[i], ba[i] = b[i], a[i]
            np.testing.assert_array_equal(block[1 + i], ab)
            np.testing.assert_array_equal(block[1 + d + i], ba)


def test_salib_works_on_the_unit_cube_with_the_factors_in_file_order():
    exp = experiment(RANGES, {"kind": "sobol", "samples": 4})
    assert salib_problem(exp) == {"num_vars": 3, "names": list(RANGES), "bounds": [[0.0, 1.0]] * 3}


# ------------------------------------------------------------------ Morris


@pytest.mark.parametrize("levels", [4, 6])
def test_a_morris_trajectory_moves_one_factor_at_a_time_on_the_level_grid(levels):
    trajectories, d = 6, len(RANGES)
    exp = experiment(RANGES, {"kind": "morris", "samples": trajectories, "levels": levels})
    table = build_design(exp)
    assert len(table) == trajectories * (d + 1)
    unit = units(table, RANGES)
    grid = np.arange(levels) / (levels - 1)
    assert np.isclose(unit[..., None], grid).any(axis=-1).all()
    delta = levels / (2 * (levels - 1))  # Morris's step, as in Saltelli et al. (2008)
    for trajectory in unit.reshape(trajectories, d + 1, d):
        steps = np.diff(trajectory, axis=0)
        moved = ~np.isclose(steps, 0)
        assert (moved.sum(axis=1) == 1).all()  # one factor each step
        assert sorted(np.flatnonzero(moved) % d) == list(range(d))  # and each factor once
        np.testing.assert_allclose(np.abs(steps[moved]), delta)
    for name, spec in RANGES.items():
        assert table[name].between(spec["low"], spec["high"]).all(), name


# ------------------------------------------------------------------ listed values in sampled designs

NETWORKS = ["watts_strogatz", "barabasi_albert", "erdos_renyi", "homophilous"]


def test_listed_values_in_a_latin_hypercube_appear_equally_often_and_alone():
    factors = {
        "network_type": {"values": NETWORKS},
        "fee_rate": {"values": [0.0, 0.08, 0.15]},
        "price_sensitivity": RANGES["price_sensitivity"],
    }
    n = 24  # a multiple of 4 and 3: each 1/n stratum lies inside one value's bin of width 1/k
    table = build_design(experiment(factors, {"kind": "lhs", "samples": n}))
    assert Counter(table["network_type"]) == dict.fromkeys(NETWORKS, n // 4)
    assert Counter(table["fee_rate"]) == {0.0: n // 3, 0.08: n // 3, 0.15: n // 3}


def test_listed_values_in_a_sobol_design_all_appear_and_nothing_else():
    factors = {"network_type": {"values": NETWORKS}, "preset": {"values": ["default", "no_cap"]}, **RANGES}
    table = build_design(experiment(factors, {"kind": "sobol", "samples": 16}))
    assert set(table["network_type"]) == set(NETWORKS)
    assert set(table["preset"]) == {"default", "no_cap"}
    unit = table["unit.network_type"].to_numpy()
    assert table["network_type"].tolist() == [NETWORKS[int(u * 4)] for u in unit]


def test_listed_values_in_a_morris_design_take_only_listed_values():
    factors = {"network_type": {"values": NETWORKS}, **RANGES}
    table = build_design(experiment(factors, {"kind": "morris", "samples": 8, "levels": 4}))
    assert set(table["network_type"]) <= set(NETWORKS)


# ------------------------------------------------------------------ determinism

SAMPLED = {
    "lhs": {"kind": "lhs", "samples": 20},
    "sobol": {"kind": "sobol", "samples": 8},
    "morris": {"kind": "morris", "samples": 5, "levels": 4},
}


def _toml(kind: str, seed: int) -> str:
    design = "\n".join(f"{k} = {json.dumps(v)}" for k, v in SAMPLED[kind].items())
    return (
        textwrap.dedent(
            f"""
        name = "{kind}"
        seed = {seed}
        [base]
        n_agents = 2000
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [factors.marketing_rate]
        low = 0.001
        high = 0.01
        distribution = "loguniform"
        [factors.network_type]
        values = ["watts_strogatz", "erdos_renyi"]
        [design]
        """
        )
        + design
    )


def test_the_same_experiment_gives_the_same_design_in_a_fresh_process(tmp_path):
    paths = {}
    for kind in SAMPLED:
        paths[kind] = tmp_path / f"{kind}.toml"
        paths[kind].write_text(_toml(kind, seed=20181016))
    here = {kind: table_hash(build_design(load_experiment(path))) for kind, path in paths.items()}
    assert here == {kind: table_hash(build_design(load_experiment(path))) for kind, path in paths.items()}
    script = textwrap.dedent(
        """
        import hashlib, json, sys
        from huzhu.experiments.designs import build_design
        from huzhu.experiments.experiment_file import load_experiment
        paths = json.loads(sys.argv[1])
        print(json.dumps({
            kind: hashlib.sha256(build_design(load_experiment(p)).to_csv(index=False).encode()).hexdigest()
            for kind, p in paths.items()
        }))
        """
    )
    argument = json.dumps({kind: str(path) for kind, path in paths.items()})
    result = subprocess.run(
        [sys.executable, "-c", script, argument], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout) == here


@pytest.mark.parametrize("kind", SAMPLED)
def test_a_different_seed_gives_a_different_sampled_design(tmp_path, kind):
    tables = []
    for seed in (1, 2):
        path = tmp_path / f"{seed}.toml"
        path.write_text(_toml(kind, seed))
        tables.append(build_design(load_experiment(path)))
    assert len(tables[0]) == len(tables[1])
    assert not np.array_equal(units(tables[0], ["fee_rate"]), units(tables[1], ["fee_rate"]))


def test_the_design_does_not_depend_on_the_number_of_replications():
    one = build_design(experiment(RANGES, {"kind": "lhs", "samples": 10}, replications=1))
    many = build_design(experiment(RANGES, {"kind": "lhs", "samples": 10}, replications=9))
    pd.testing.assert_frame_equal(one, many)


# ------------------------------------------------------------------ replication seeds


def _documented_seed(experiment_seed: int, replications: int, k: int) -> int:
    """Seed of replication k as documented: SeedSequence spawn key (0, k), its first 64-bit word halved."""
    child = np.random.SeedSequence(experiment_seed).spawn(1)[0].spawn(replications)[k]
    assert child.spawn_key == (0, k)
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@pytest.mark.parametrize("experiment_seed", [0, 1, 20181016, 2**40 + 3, 2**70 + 1])
def test_replication_seeds_follow_the_documented_seed_sequence_derivation(experiment_seed):
    r = 6
    expected = [_documented_seed(experiment_seed, r, k) for k in range(r)]
    assert [replication_seed(experiment_seed, k) for k in range(r)] == expected
    assert replication_seeds(experiment_seed, r) == expected


@pytest.mark.parametrize("experiment_seed", [0, 20181016])
def test_replication_seeds_are_distinct_non_negative_int64_values(experiment_seed):
    seeds = replication_seeds(experiment_seed, 2000)
    assert len(set(seeds)) == len(seeds)
    assert all(type(s) is int and 0 <= s < 2**63 for s in seeds)
    assert len({replication_seed(experiment_seed + 1, k) for k in range(10)} & set(seeds[:10])) == 0


def test_a_replication_keeps_its_seed_when_more_replications_are_added():
    assert replication_seeds(7, 10)[:3] == replication_seeds(7, 3)


def test_replication_k_has_the_same_seed_at_every_design_point():
    replications = 4
    exp = experiment({"fee_rate": {"values": [0.0, 0.08, 0.15]}}, {"kind": "grid"}, seed=5, replications=replications)
    design = build_design(exp)
    tasks = experiment_tasks(exp, design)
    assert len(tasks) == 3 * replications
    seeds = replication_seeds(5, replications)
    for task in tasks:
        assert task.run_id == task.point * replications + task.replication
        assert task.seed == seeds[task.replication]
    assert sorted(t.run_id for t in tasks) == list(range(3 * replications))
    by_replication = {k: {t.seed for t in tasks if t.replication == k} for k in range(replications)}
    assert all(len(s) == 1 for s in by_replication.values())
    assert len({next(iter(s)) for s in by_replication.values()}) == replications
    assert [t.params["fee_rate"] for t in tasks[::replications]] == [0.0, 0.08, 0.15]
