"""Annual critical-illness incidence by age.

China Life Insurance Critical Illness Table (2006-2010), table CI1 (six core diseases,
male), read at m.taowenge.com/p-35566952.html; see data/xianghubao_facts.md.
Between tabulated ages the incidence is interpolated linearly in its logarithm, since
critical-illness incidence grows roughly exponentially with age.
"""

from __future__ import annotations

import numpy as np

CI1_AGES_YEARS = np.array(
    [0, 20, 25, 27, 35, 36, 37, 38, 39, 40, 45, 50, 55, 58, 59, 60, 62, 70, 75, 80], dtype=np.float64
)
CI1_ANNUAL_INCIDENCE = np.array(
    [
        0.000350,
        0.000340,
        0.000514,
        0.000610,
        0.001218,
        0.001351,
        0.001508,
        0.001691,
        0.001905,
        0.002151,
        0.003997,
        0.007155,
        0.011682,
        0.014930,
        0.016086,
        0.017274,
        0.019737,
        0.034692,
        0.045666,
        0.056377,
    ],
    dtype=np.float64,
)
_LOG_INCIDENCE = np.log(CI1_ANNUAL_INCIDENCE)


def ci1_incidence(age_years: np.ndarray | float) -> np.ndarray | float:
    """Annual probability of one of the six core critical illnesses at `age_years`.

    Args:
        age_years: Age in years (array or scalar); ages outside 0-80 take the end values.

    Returns:
        Annual incidence (per person per year), same shape as `age_years`.
    """
    return np.exp(np.interp(age_years, CI1_AGES_YEARS, _LOG_INCIDENCE))
