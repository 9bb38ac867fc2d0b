"""Age pyramid of the people the platform can reach: China's internet users, March 2020.

CNNIC, 45th Statistical Report on Internet Development in China (published 28 Apr
2020; data as of March 2020; data/china_internet_users_age_2020.csv): of 904M internet
users, 21.5% were aged 20-29, 20.8% 30-39, 17.6% 40-49 and 16.9% 50 or over, so 23.2%
were under 20 (derived). The report's 50+ band is split 60:40 between ages 50-59 and
60-79 (assumption: the 50-59 cohort is about half of China's people over 50 and far more
often online than those over 60). Within a band ages are uniform.

Alipay users and Xianghubao's members are younger than China's population (the members'
mean age was 34.4 in 2020, XHB 2020 operating report); drawing the reachable population
from the internet users' pyramid instead of the whole population's lets the members' age
come out of who can be reached and who joins (`join_age_gradient`), not be assumed.
"""

from __future__ import annotations

import numpy as np

AGE_PYRAMIDS = ("internet_users_2020", "uniform")

#: Band edges (years) and each band's share of internet users, March 2020 (CNNIC 45th).
INTERNET_USERS_2020_EDGES_YEARS = np.array([0.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0])
INTERNET_USERS_2020_SHARES = np.array([0.232, 0.215, 0.208, 0.176, 0.169 * 0.6, 0.169 * 0.4])


def band_shares(pyramid: str, max_age_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Band edges (years) and band probabilities of `pyramid` truncated below `max_age_years`.

    Args:
        pyramid: One of `AGE_PYRAMIDS`.
        max_age_years: Ages drawn lie below it (years); bands above it are cut off.

    Returns:
        (edges, probabilities): edges of length k + 1 ending at `max_age_years`,
        probabilities of length k summing to 1.
    """
    if pyramid == "uniform":
        return np.array([0.0, max_age_years]), np.array([1.0])
    if pyramid != "internet_users_2020":
        raise ValueError(f"age_pyramid={pyramid!r} is not allowed: one of {', '.join(AGE_PYRAMIDS)}")
    edges = INTERNET_USERS_2020_EDGES_YEARS
    if max_age_years > edges[-1]:
        raise ValueError(
            f"max_age_years={max_age_years:g} is above the pyramid's oldest age {edges[-1]:g}: "
            "use age_pyramid='uniform' or a lower max_age_years"
        )
    low, high = edges[:-1], np.minimum(edges[1:], max_age_years)
    kept = high > low
    # Truncating a band keeps its density: it loses the share of its width cut off.
    mass = INTERNET_USERS_2020_SHARES[kept] * (high[kept] - low[kept]) / (edges[1:][kept] - low[kept])
    return np.append(low[kept], high[kept][-1]), mass / mass.sum()


def draw_age_periods(uniforms: np.ndarray, pyramid: str, max_age_periods: int, periods_per_year: int) -> np.ndarray:
    """Ages in whole half months, drawn from `pyramid` by inverse transform (int16).

    Args:
        uniforms: One uniform in [0, 1) an agent.
        pyramid: One of `AGE_PYRAMIDS`.
        max_age_periods: Every age drawn is below it (half months).
        periods_per_year: Half months a year (24).
    """
    if pyramid == "uniform":
        return (uniforms * max_age_periods).astype(np.int16)
    edges, shares = band_shares(pyramid, max_age_periods / periods_per_year)
    cumulative = np.concatenate(([0.0], np.cumsum(shares)))
    ages = np.interp(uniforms, cumulative, edges * periods_per_year)
    return np.minimum(ages.astype(np.int64), max_age_periods - 1).astype(np.int16)


def people_ratio(pyramid: str, age_years: float, reference_age_years: float) -> float:
    """People of `pyramid` younger than `age_years` over those younger than
    `reference_age_years` (1): the uniform pyramid's density is the same at every age."""
    return _people_below(pyramid, age_years) / _people_below(pyramid, reference_age_years)


def _people_below(pyramid: str, age_years: float) -> float:
    """Share of the people of `pyramid` younger than `age_years` (1; for the uniform
    pyramid, which has no oldest age, `age_years` itself: only its ratios mean anything)."""
    if pyramid == "uniform":
        return float(age_years)
    edges, shares = INTERNET_USERS_2020_EDGES_YEARS, INTERNET_USERS_2020_SHARES
    if pyramid != "internet_users_2020":
        raise ValueError(f"age_pyramid={pyramid!r} is not allowed: one of {', '.join(AGE_PYRAMIDS)}")
    if not 0.0 <= age_years <= edges[-1]:
        raise ValueError(f"age_years={age_years:g} is not allowed: 0 to the pyramid's oldest age {edges[-1]:g}")
    covered = np.clip((age_years - edges[:-1]) / (edges[1:] - edges[:-1]), 0.0, 1.0)
    return float((shares * covered).sum())
