"""The age pyramid of the reachable population: its shares, its truncation and the draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from huzhu.calibration.observations import data_path
from huzhu.model import demography
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.parameters import ParameterError, resolve_parameters

SIXTY = 60 * PERIODS_PER_YEAR


def test_the_pyramid_in_the_code_is_the_one_in_data_with_its_sources():
    table = pd.read_csv(data_path("china_internet_users_age_2020.csv"))
    edges = np.append(table["age_low_years"], table["age_high_years"].iloc[-1])
    np.testing.assert_array_equal(edges, demography.INTERNET_USERS_2020_EDGES_YEARS)
    np.testing.assert_allclose(table["share_of_internet_users"], demography.INTERNET_USERS_2020_SHARES, atol=1e-4)
    assert table["share_of_internet_users"].sum() == pytest.approx(1.0, abs=1e-3)
    assert table["source"].str.contains("CNNIC").all() and table["status"].notna().all()


@pytest.mark.parametrize("max_age", [19.0, 35.5, 55.0, 60.0, 72.0, 80.0])
def test_a_truncated_pyramid_keeps_each_kept_band_density_and_sums_to_one(max_age):
    edges, shares = demography.band_shares("internet_users_2020", max_age)
    assert edges[0] == 0.0 and edges[-1] == max_age and shares.sum() == pytest.approx(1.0)
    full_density = demography.INTERNET_USERS_2020_SHARES / np.diff(demography.INTERNET_USERS_2020_EDGES_YEARS)
    density = shares / np.diff(edges)
    # Relative densities are the report's: truncation rescales all bands by one factor.
    ratio = density / full_density[: len(density)]
    np.testing.assert_allclose(ratio, ratio[0])


def test_drawn_ages_follow_the_band_shares_below_the_maximum_age():
    n = 1_000_000
    u = np.random.default_rng(11).random(n)
    ages = demography.draw_age_periods(u, "internet_users_2020", SIXTY, PERIODS_PER_YEAR)
    assert ages.dtype == np.int16 and ages.min() >= 0 and ages.max() < SIXTY
    edges, shares = demography.band_shares("internet_users_2020", 60.0)
    counts = np.histogram(ages / PERIODS_PER_YEAR, bins=edges)[0]
    # Binomial counts: five standard deviations of n x share.
    np.testing.assert_allclose(counts, n * shares, atol=5 * np.sqrt(n * shares * (1 - shares)).max())


def test_the_internet_users_are_younger_than_a_flat_pyramid():
    u = np.random.default_rng(3).random(200_000)
    pyramid = demography.draw_age_periods(u, "internet_users_2020", SIXTY, PERIODS_PER_YEAR) / PERIODS_PER_YEAR
    flat = demography.draw_age_periods(u, "uniform", SIXTY, PERIODS_PER_YEAR) / PERIODS_PER_YEAR
    assert pyramid[pyramid >= 18].mean() == pytest.approx(_adult_mean_age("internet_users_2020"), abs=0.1)
    assert flat[flat >= 18].mean() == pytest.approx(_adult_mean_age("uniform"), abs=0.1)
    assert _adult_mean_age("internet_users_2020") < _adult_mean_age("uniform") - 2.0


def _adult_mean_age(pyramid: str) -> float:
    """Mean age at 18-59 of the piecewise-uniform density, less the half of a half month
    that whole half months lose (years)."""
    edges, shares = demography.band_shares(pyramid, 60.0)
    low, high = np.maximum(edges[:-1], 18.0), edges[1:]
    mass = shares * np.clip(high - low, 0, None) / np.diff(edges)
    return float((mass * (low + high) / 2).sum() / mass.sum()) - 0.5 / PERIODS_PER_YEAR


def test_the_uniform_pyramid_is_the_whole_half_months_below_the_maximum():
    u = np.random.default_rng(5).random(10_000)
    np.testing.assert_array_equal(
        demography.draw_age_periods(u, "uniform", SIXTY, PERIODS_PER_YEAR), (u * SIXTY).astype(np.int16)
    )


def test_an_unknown_pyramid_or_an_age_beyond_it_is_refused():
    with pytest.raises(ParameterError, match="age_pyramid='census' is not allowed: one of 'internet_users_2020'"):
        resolve_parameters({"age_pyramid": "census"})
    with pytest.raises(ValueError, match="max_age_years=85 is above the pyramid's oldest age 80"):
        demography.band_shares("internet_users_2020", 85.0)
