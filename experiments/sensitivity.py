"""Global sensitivity analysis of end-of-run summaries with SALib: Sobol and Morris.

The response of a design point is the mean of its replications (the model's expected
output given the factors), so the indices describe the parameters, not the seed. Factors
are sampled on the unit cube and mapped to their ranges (huzhu.experiments.designs), so
Morris effects are per full range of a factor, comparable across factors.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from huzhu.experiments.designs import POINT, UNIT_PREFIX
from huzhu.experiments.figures import MM, STYLE, save_figure
from huzhu.experiments.results import ExperimentResults

SOBOL_COLUMNS = ("output", "factor", "S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("output", "factor", "mu", "mu_star", "mu_star_conf", "sigma")


class SensitivityError(ValueError):
    """The results cannot be analysed (wrong design, missing points)."""


def sobol_indices(
    problem: dict, y: np.ndarray, second_order: bool = False, resamples: int = 1000, confidence: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:  # fmt: skip
    """First-order and total Sobol indices with bootstrap confidence half-widths.

    Args:
        problem: SALib problem (names, num_vars, bounds).
        y: Responses in the order of SALib's Saltelli sample.
        second_order: Whether the sample was drawn with second-order terms.
        resamples: Bootstrap resamples for the confidence intervals.
        confidence: Confidence level.
        seed: Seed of the bootstrap.

    Returns:
        One row per factor: factor, S1, S1_conf, ST, ST_conf (half-widths of the interval).
    """
    from SALib.analyze import sobol

    result = sobol.analyze(
        problem, np.asarray(y, dtype=float), calc_second_order=second_order, num_resamples=resamples,
        conf_level=confidence, seed=seed,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "S1": result["S1"],
            "S1_conf": result["S1_conf"],
            "ST": result["ST"],
            "ST_conf": result["ST_conf"],
        }
    )


def morris_indices(
    problem: dict, x: np.ndarray, y: np.ndarray, levels: int = 4, resamples: int = 1000, confidence: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Morris elementary-effect statistics.

    Args:
        problem: SALib problem on the unit cube.
        x: The Morris sample (unit coordinates), one row per point.
        y: Responses per row of `x`.
        levels: Grid levels of the sample.
        resamples: Bootstrap resamples for the confidence interval of mu*.
        confidence: Confidence level.
        seed: Seed of the bootstrap.

    Returns:
        One row per factor: factor, mu, mu_star, mu_star_conf, sigma (units of the output
        per full range of the factor).
    """
    from SALib.analyze import morris

    result = morris.analyze(
        problem, np.asarray(x, dtype=float), np.asarray(y, dtype=float), num_resamples=resamples,
        conf_level=confidence, num_levels=levels, seed=seed,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "mu": result["mu"],
            "mu_star": result["mu_star"],
            "mu_star_conf": result["mu_star_conf"],
            "sigma": result["sigma"],
        }
    )


def analyse_sensitivity(results: ExperimentResults, outputs: list[str] | None = None) -> pd.DataFrame:
    """Sobol or Morris indices of an experiment's summaries (the design decides which).

    Args:
        results: A loaded Sobol or Morris experiment.
        outputs: Summary names; default the experiment's [sensitivity] outputs, else all kept.

    Returns:
        SOBOL_COLUMNS or MORRIS_COLUMNS, one row per (output, factor).

    Raises:
        SensitivityError: If the design is not Sobol or Morris, or a point has no
            successful run (the estimators need every point).
    """
    experiment = results.manifest["experiment"]
    kind = experiment["design"]
    if kind not in ("sobol", "morris"):
        raise SensitivityError(f"{results.path}: sensitivity needs a sobol or morris design, not {kind!r}")
    settings = experiment.get("sensitivity") or {}
    outputs = list(outputs or settings.get("outputs") or experiment["summaries"])
    unknown = [o for o in outputs if o not in experiment["summaries"]]
    if unknown:
        kept = ", ".join(experiment["summaries"])
        raise SensitivityError(f"unknown output {unknown[0]!r}: kept summaries are {kept}")
    means = results.summaries.groupby(POINT)[outputs].mean().reindex(results.design[POINT])
    missing = sorted(set(results.design[POINT]) - set(results.summaries[POINT]))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise SensitivityError(
            f"{results.path}: {len(missing)} design point(s) have no successful run ({shown}); "
            "finish or retry the sweep (huzhu sweep --retry-failed) first"
        )
    names = experiment["factors"]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    resamples = settings.get("resamples", 1000)
    confidence = settings.get("confidence", 0.95)
    seed = results.manifest["seed"]
    frames = []
    for output in outputs:
        y = means[output].to_numpy(dtype=float)
        undefined = np.isnan(y)
        if undefined.any():
            warnings.warn(
                f"{output} is undefined (NaN) at {int(undefined.sum())} design point(s), "
                f"e.g. {int(means.index[undefined][0])}; its indices are NaN",
                stacklevel=2,
            )
        if undefined.any() or np.ptp(y) == 0:
            # A constant output has no variance to apportion: its indices are undefined.
            columns = SOBOL_COLUMNS if kind == "sobol" else MORRIS_COLUMNS
            frames.append(pd.DataFrame({c: [output] * len(names) if c == "output" else names if c == "factor"
                                        else [np.nan] * len(names) for c in columns}))  # fmt: skip
            continue
        if kind == "sobol":
            second = experiment["design_settings"].get("second_order", False)
            table = sobol_indices(problem, y, second, resamples, confidence, seed)
        else:
            x = results.design[[UNIT_PREFIX + n for n in names]].to_numpy()
            levels = experiment["design_settings"]["levels"]
            table = morris_indices(problem, x, y, levels, resamples, confidence, seed)
        table.insert(0, "output", output)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def sensitivity_figure(table: pd.DataFrame, path: Path, title: str = "") -> list[Path]:
    """Sobol bars (S1 and ST with intervals) or Morris mu*-sigma plots, one panel per output.

    Writes `path` as PNG and PDF; returns both paths.
    """
    outputs = list(dict.fromkeys(table["output"]))
    columns = min(3, len(outputs))
    rows = -(-len(outputs) // columns)
    sobol = "S1" in table.columns
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            rows, columns, figsize=(180 * MM, 50 * MM * rows), squeeze=False, constrained_layout=True
        )
        for ax, output in zip(axes.flat, outputs, strict=False):
            part = table[table["output"] == output]
            if sobol:
                y = np.arange(len(part))
                error = {"lw": 0.7, "ecolor": "0.25", "capsize": 1.5}
                ax.barh(y - 0.2, part["S1"], 0.4, xerr=part["S1_conf"], error_kw=error, label="first order $S_1$",
                        color="#4477aa")  # fmt: skip
                ax.barh(y + 0.2, part["ST"], 0.4, xerr=part["ST_conf"], error_kw=error, label="total $S_T$",
                        color="#ee6677")  # fmt: skip
                ax.set_yticks(y, part["factor"])
                ax.invert_yaxis()
                ax.axvline(0, color="black", lw=0.6)
                ax.set_xlabel("Sobol index")
            else:
                ax.errorbar(part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o", ms=3, color="#4477aa")
                for _, row in part.iterrows():
                    ax.annotate(row["factor"], (row["mu_star"], row["sigma"]), fontsize=6, xytext=(3, 3),
                                textcoords="offset points")  # fmt: skip
                ax.set_xlabel(r"$\mu^*$ (per full range)")
                ax.set_ylabel(r"$\sigma$")
            ax.set_title(output.replace("_", " "), fontsize=7)
        for ax in list(axes.flat)[len(outputs) :]:
            ax.set_visible(False)
        if sobol:
            axes.flat[0].legend(frameon=False, loc="lower right")
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)
