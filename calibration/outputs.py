"""The calibration folder and its figures.

OUT/manifest.json     settings, cutoff, targets used, best and near-best sets, versions, times
OUT/trials.csv        every candidate: parameters, distance, summed z^2
OUT/near_best.csv     the near-best candidates
OUT/fit.csv           target, observed, simulated mean and 5-95% interval, z, used
OUT/fit.png / .pdf    model against data
OUT/claims.png / .pdf claims per million members and period, the record's and the near-best runs'
OUT/profiles.csv/.png distance along each parameter (with --profile)
OUT/forecast_periods.csv, forecast_years.csv, forecast.png/.pdf (huzhu forecast)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from huzhu.calibration.calibrate import Calibration, CalibrationSettings
from huzhu.experiments.figures import MM, STYLE, save_figure
from huzhu.experiments.provenance import environment
from huzhu.model.market import MODELLED_PLAN

FORMAT = "huzhu-calibration/1"


def default_folder(until: dt.date) -> Path:
    """Where `huzhu calibrate --until DATE` writes and `huzhu forecast` looks first."""
    return Path("results") / f"calibration-until-{until}"


class CalibrationFolderError(ValueError):
    """A calibration folder is missing or not one huzhu wrote."""


def write_calibration(calibration: Calibration, fit: pd.DataFrame, out: Path, started: dt.datetime) -> list[Path]:
    """Write the calibration's files into `out` (created); return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "trials.csv", out / "near_best.csv", out / "fit.csv"]
    calibration.trials.to_csv(files[0], index=False)
    calibration.near_best.to_csv(files[1], index=False)
    fit.to_csv(files[2], index=False)
    manifest = {
        "format": FORMAT,
        "settings": _settings_json(calibration.settings),
        "data_cutoff": calibration.settings.until.isoformat(),
        "targets_used": int(sum(t.used for t in calibration.targets)),
        "targets": [{"quantity": t.quantity, "date": t.date.isoformat(), "used": t.used} for t in calibration.targets],
        "best": calibration.best,
        "best_distance": float(calibration.trials["distance"].min()),
        "near_best": calibration.near_best[list(calibration.settings.parameters)].to_dict(orient="records"),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **environment(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    files.append(out / "manifest.json")
    files += fit_figure(fit, out / "fit.png")
    return files


def _settings_json(settings: CalibrationSettings) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(settings).items()}


def read_manifest(location: Path) -> dict:
    """The manifest of a calibration folder (or a manifest file itself), checked."""
    location = Path(location)
    path = location if location.suffix == ".json" else location / "manifest.json"
    if not path.is_file():
        raise CalibrationFolderError(f"{location}: no manifest.json: not a calibration folder (run huzhu calibrate)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CalibrationFolderError(f"{path}: not valid JSON ({error})") from None
    if manifest.get("format") != FORMAT:
        raise CalibrationFolderError(f"{path}: format {manifest.get('format')!r} is not {FORMAT!r}")
    for key in ("settings", "near_best", "data_cutoff"):
        if key not in manifest:
            raise CalibrationFolderError(f"{path}: missing {key!r}")
    return manifest


def settings_from(manifest: dict) -> CalibrationSettings:
    settings = dict(manifest["settings"])
    settings["until"] = dt.date.fromisoformat(settings["until"])
    settings["parameters"] = tuple(settings["parameters"])
    settings.setdefault("stay_rule", "constant")  # calibrations written before the stay rule was a setting
    settings.setdefault("estimator", "realised")  # and before claims were read Poisson-free
    return CalibrationSettings(**settings)


def fit_figure(fit: pd.DataFrame, path: Path) -> list[Path]:
    """Observed against simulated, every target, log scales, with 5-95% intervals."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(120 * MM, 100 * MM), constrained_layout=True)
        used = fit[fit["used"]]
        for k, (quantity, group) in enumerate(used.groupby("quantity")):
            ax.errorbar(
                group["observed"], group["simulated"],
                yerr=[(group["simulated"] - group["simulated_low"]).clip(lower=0),
                      (group["simulated_high"] - group["simulated"]).clip(lower=0)],
                fmt="osD^v<>PXh*"[k % 11], ms=3, lw=0.6, capsize=1.5, label=quantity.replace("_", " "),
            )  # fmt: skip
        low = min(used["observed"].min(), used["simulated_low"].clip(lower=1e-3).min())
        high = max(used["observed"].max(), used["simulated_high"].max())
        ax.plot([low, high], [low, high], color="0.5", lw=0.6, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("observed (unit of each target)")
        ax.set_ylabel("simulated: mean and 5-95% of near-best runs")
        ax.legend(frameon=False, fontsize=6, loc="upper left")
        return save_figure(fig, path)


def claim_rate_figure(record_rates: pd.DataFrame, tables: list[pd.DataFrame], path: Path) -> list[Path]:
    """Claims announced per million members and period: the record's intervals
    (`claim_rates.record_claim_rates`) as segments, the runs' median and 5-95% band."""
    from huzhu.calibration.claim_rates import model_claim_rates

    rates = pd.concat([model_claim_rates(table) for table in tables], axis=1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(120 * MM, 70 * MM), constrained_layout=True)
        ax.fill_between(rates.index, rates.quantile(0.05, axis=1), rates.quantile(0.95, axis=1), color="C0",
                        alpha=0.25, lw=0)  # fmt: skip
        ax.plot(rates.index, rates.median(axis=1), color="C0", lw=0.9, label="model: median and 5-95% of runs")
        for k, row in enumerate(record_rates.itertuples()):
            ax.plot([pd.Timestamp(row.start), pd.Timestamp(row.end)], [row.rate_per_million] * 2, color="k", lw=1.6,
                    solid_capstyle="butt", label="record: between two of its counts" if k == 0 else None)  # fmt: skip
        ax.set_xlim(pd.Timestamp(record_rates["start"].min()) - pd.Timedelta(days=60),
                    pd.Timestamp(record_rates["end"].max()) + pd.Timedelta(days=30))  # fmt: skip
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.set_ylabel("claims announced per million members\nper half-month period")
        ax.legend(frameon=False, fontsize=6, loc="upper left")
        return save_figure(fig, path)


def forecast_figure(
    periods: pd.DataFrame,
    years: pd.DataFrame,
    observations: pd.DataFrame,
    cutoff: dt.date,
    path: Path,
    until: dt.date | None = None,
) -> list[Path]:
    """Members, share per member, people aided and platform money: forecast bands, the
    data up to the cutoff as filled points, the cutoff as a line; observations after the
    cutoff and up to `until` (scoring a validation forecast) as open points."""
    panels = (
        ("members", 1e6, "members (million)", "members"),
        ("share_per_member", 1.0, "share per member\n(CNY per period)", "share_per_member_per_period"),
        ("cumulative_aided", 1e3, "cumulative aided (thousand)", "cumulative_aided"),
        ("fee_revenue", 1e6, "management fee\n(million CNY per period)", None),
    )
    observations = observations[observations["plan"] == MODELLED_PLAN]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 3, figsize=(180 * MM, 110 * MM), constrained_layout=True)
        for ax, (quantity, scale, label, observed) in zip(axes.flat[[0, 1, 3, 4]], panels, strict=True):
            rows = periods[periods["quantity"] == quantity]
            dates = pd.to_datetime(rows["date"])
            ax.fill_between(dates, rows["low"] / scale, rows["high"] / scale, color="C0", alpha=0.25, lw=0)
            ax.plot(dates, rows["median"] / scale, color="C0", lw=0.9)
            if observed is not None:
                data = observations[(observations["quantity"] == observed) & (observations["date"] <= cutoff)]
                ax.plot(pd.to_datetime(data["date"]), data["value"] / scale, "k.", ms=4)
                later = _after_cutoff(observations, observed, cutoff, until)
                ax.plot(pd.to_datetime(later["date"]), later["value"] / scale, "o", mfc="none", mec="k", ms=4)
            ax.axvline(pd.Timestamp(cutoff), color="0.4", lw=0.6, ls="--")
            ax.xaxis.set_major_locator(mdates.YearLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
            ax.set_ylabel(label)
        for ax, (quantity, label, observed) in zip(
            axes[:, 2],
            (("share_per_member_per_year", "share per member\n(CNY per year)", "share_per_member_per_year"),
             ("aided_in_year", "people aided in the year", "aided_in_year")),
            strict=True,
        ):  # fmt: skip
            rows = years[years["quantity"] == quantity]
            error = [(rows["median"] - rows["low"]).clip(lower=0), (rows["high"] - rows["median"]).clip(lower=0)]
            ax.errorbar(rows["year"], rows["median"], yerr=error, fmt="o", color="C0", ms=3, capsize=2, lw=0.8)
            data = observations[(observations["quantity"] == observed) & (observations["date"] <= cutoff)]
            ax.plot([d.year for d in data["date"]], data["value"], "kx", ms=5)
            later = _after_cutoff(observations, observed, cutoff, until)
            ax.plot([d.year for d in later["date"]], later["value"], "o", mfc="none", mec="k", ms=5)
            ax.axvline(cutoff.year + 0.5, color="0.4", lw=0.6, ls="--")
            ax.set_xticks(sorted(rows["year"].unique()))
            ax.set_ylabel(label)
        fig.suptitle(f"Forecast from data to {cutoff}: median and 5-95% over near-best sets x replications")
        return save_figure(fig, path)


def _after_cutoff(observations: pd.DataFrame, quantity: str, cutoff: dt.date, until: dt.date | None) -> pd.DataFrame:
    """Observations of `quantity` after the cutoff and up to `until` (none without `until`)."""
    if until is None:
        return observations.iloc[:0]
    dates = observations["date"]
    return observations[(observations["quantity"] == quantity) & (dates > cutoff) & (dates <= until)]


def profile_figure(profiles: pd.DataFrame, path: Path) -> list[Path]:
    """Distance along each parameter, the others at their best values."""
    names = list(dict.fromkeys(profiles["parameter"]))
    columns = 4
    rows = int(np.ceil(len(names) / columns))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(180 * MM, 40 * MM * rows), constrained_layout=True,
                                 squeeze=False)  # fmt: skip
        for ax, name in zip(axes.flat, names, strict=False):
            rows_ = profiles[profiles["parameter"] == name]
            ax.plot(rows_["value"], rows_["distance"], "o-", ms=2.5, lw=0.8)
            best = rows_[rows_["is_best"]]
            ax.plot(best["value"], best["distance"], "r*", ms=6)
            ax.set_title(name, fontsize=7)
            if rows_["value"].min() > 0 and rows_["value"].max() / rows_["value"].min() > 20:
                ax.set_xscale("log")
        for ax in axes.flat[len(names) :]:
            ax.set_visible(False)
        axes[0, 0].set_ylabel("distance")
        return save_figure(fig, path)
