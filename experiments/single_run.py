"""One run of the model, saved with its provenance: the `huzhu run` command's engine."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from huzhu.calibration.record import RECORD_FILE, record_comparison
from huzhu.experiments.figures import market_figure, overview_figure
from huzhu.experiments.provenance import environment
from huzhu.model.model import VOLUNTARY_EXIT_COLUMNS, MutualAidModel

TIMESERIES_FILE = "timeseries.csv"
MANIFEST_FILE = "manifest.json"
FIGURE_FILE = "overview.png"
#: A market run's further files: every plan's table (long), the industry's members, a figure.
PLANS_FILE = "plans.csv"
INDUSTRY_FILE = "industry.csv"
MARKET_FIGURE_FILE = "market.png"


class OutputExistsError(FileExistsError):
    """The output folder already holds a run; nothing was overwritten."""


@dataclass
class RunResult:
    """A finished run: its table, its comparison with the record, its manifest and where
    they were written."""

    table: pd.DataFrame
    record: pd.DataFrame
    manifest: dict
    out_dir: Path | None


def run_model(
    params: dict[str, Any], seed: int, preset: str = "default", progress: bool = True
) -> tuple[MutualAidModel, pd.DataFrame, float]:
    """Build and run one model to closure.

    Args:
        params: Parameter overrides (validated by the model).
        seed: Integer seed of the model's random generator.
        preset: Parameter preset applied first.
        progress: Show a progress bar over periods.

    Returns:
        (model, period table, wall time in seconds).
    """
    started = time.perf_counter()
    model = MutualAidModel(preset=preset, rng=seed, **params)
    with tqdm(
        total=model.n_periods,
        unit="period",
        desc=f"huzhu {model.params['n_agents']:,} agents",
        disable=None if progress else True,
        leave=False,
    ) as bar:
        table = model.run(progress=lambda _period: bar.update(1))
    return model, table, time.perf_counter() - started


def run_and_save(
    params: dict[str, Any],
    seed: int | None,
    out_dir: Path | None,
    preset: str = "default",
    progress: bool = True,
    overwrite: bool = False,
) -> RunResult:
    """Run one model and write timeseries.csv, record.csv (the run against every
    observation of the record, `huzhu.calibration.record`), manifest.json and overview.png/pdf;
    a market model (`market_scope="market"`) also plans.csv (every plan's table, long:
    `MutualAidModel.plan_results`), industry.csv (`industry_results`) and market.png/pdf.

    Args:
        params: Parameter overrides.
        seed: Integer seed; None draws one from the operating system and records it.
        out_dir: Folder to write; None writes nothing.
        preset: Parameter preset.
        progress: Show a progress bar.
        overwrite: Replace an earlier run in `out_dir`.

    Raises:
        OutputExistsError: If `out_dir` holds a run and `overwrite` is false (checked
            before the run starts).
    """
    if out_dir is not None:
        out_dir = Path(out_dir)
        if (out_dir / MANIFEST_FILE).exists() and not overwrite:
            raise OutputExistsError(
                f"{out_dir} already holds a run ({MANIFEST_FILE}); choose another --out or pass --overwrite"
            )
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    started_at = dt.datetime.now(dt.UTC)
    model, table, wall_seconds = run_model(params, seed, preset, progress)
    record = record_comparison(table, model.params)
    manifest = {
        "command": "huzhu run",
        "preset": preset,
        "seed": seed,
        "parameters": {name: _jsonable(value) for name, value in model.params.items()},
        "overrides": {name: _jsonable(value) for name, value in params.items()},
        "periods": model.period,  # periods run: in a market model from the first launch, before the table's first
        "started_utc": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        **environment(),
        "files": [TIMESERIES_FILE, RECORD_FILE, MANIFEST_FILE, FIGURE_FILE, FIGURE_FILE.replace(".png", ".pdf")],
    }
    market = len(model.pools) > 1
    if market:
        manifest["files"] += [PLANS_FILE, INDUSTRY_FILE, MARKET_FIGURE_FILE, MARKET_FIGURE_FILE.replace(".png", ".pdf")]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(
            out_dir / TIMESERIES_FILE,
            lambda f: table.to_csv(f, index=False, float_format="%.10g", date_format="%Y-%m-%d"),
        )
        _write_atomically(out_dir / RECORD_FILE, lambda f: record.to_csv(f, index=False, float_format="%.10g"))
        overview_figure(
            table,
            out_dir / FIGURE_FILE,
            title=f"huzhu, preset {preset}, {model.params['n_agents']:,} agents, seed {seed}",
        )
        if market:
            plans, industry = model.plan_results(), model.industry_results()
            for name, frame in ((PLANS_FILE, plans), (INDUSTRY_FILE, industry)):
                _write_atomically(
                    out_dir / name,
                    lambda f, frame=frame: frame.to_csv(f, index=False, float_format="%.10g", date_format="%Y-%m-%d"),
                )
            market_figure(
                plans, industry, out_dir / MARKET_FIGURE_FILE,
                title=f"huzhu market, preset {preset}, {model.params['n_agents']:,} agents, seed {seed}",
            )  # fmt: skip
        # The manifest goes last: a folder with a manifest holds a complete run.
        _write_atomically(out_dir / MANIFEST_FILE, lambda f: json.dump(manifest, f, indent=2))
    return RunResult(table=table, record=record, manifest=manifest, out_dir=out_dir)


def summarise(table: pd.DataFrame) -> str:
    """A few lines on the run: peak and decline, cost growth, money, selection, cross-sell."""
    peak = table.loc[table["members"].idxmax()]
    last = table[table["members"] > 0].iloc[-1]
    first_cover = table[table["covered"] > 0].head(4)
    year = table["date"].dt.year
    share_per_year = table.groupby(year)["share_per_member"].sum()
    shares = ", ".join(f"{y} {v:.0f}" for y, v in share_per_year.items() if v > 0)
    money = {c: table[c].sum() / 1e6 for c in ("fee_revenue", "platform_subsidy", "commission_revenue")}
    return "\n".join(
        [
            f"members      peak {peak['members'] / 1e6:.1f} M on {peak['date']:%Y-%m-%d}; "
            f"{last['members'] / 1e6:.1f} M on {last['date']:%Y-%m-%d}",
            f"cost         expected per member {first_cover['expected_cost_per_member'].mean():.2f} CNY a period "
            f"in the first covered periods, {table[year == 2021]['expected_cost_per_member'].mean():.2f} in 2021",
            f"shares       per member and year (CNY): {shares}",
            f"aided        {table['cumulative_aided'].iloc[-1] / 1e3:.1f} k people, "
            f"benefits {table['payouts'].sum() / 1e9:.2f} bn CNY",
            f"platform     fees {money['fee_revenue']:.0f} M CNY, subsidies {money['platform_subsidy']:.0f} M CNY, "
            f"commission {money['commission_revenue']:.0f} M CNY",
            f"selection    adverse-selection index {peak['adverse_selection_index']:.2f} at the peak, "
            f"{last['adverse_selection_index']:.2f} at the end",
            f"cross-sell   considering insurance at the end: members {last['consider_rate_members']:.0%}, "
            f"non-members {last['consider_rate_nonmembers']:.0%}",
            *gross_flow_lines(table),
        ]
    )


def gross_flows(table: pd.DataFrame) -> pd.DataFrame:
    """Gross flows per calendar year (people): joins and re-joins, exits by reason, and
    the mean membership they compare with."""
    columns = ["joins", "rejoins", "exits_price", "exits_contagion", "exits_other", "exits_ill_in_waiting", "claims"]
    flows = table.groupby(table["date"].dt.year)[columns].sum()
    flows["exits_voluntary"] = flows[list(VOLUNTARY_EXIT_COLUMNS)].sum(axis=1)
    flows["mean_members"] = table.groupby(table["date"].dt.year)["members"].mean()
    flows.index.name = "year"
    return flows


def gross_flow_lines(table: pd.DataFrame) -> list[str]:
    """One summary line per year with members: flows in millions of people."""
    lines = []
    for year, row in gross_flows(table).iterrows():
        if row["mean_members"] <= 0:
            continue
        lines.append(
            f"flows {year}   joins {row['joins'] / 1e6:.1f} M (re-joins {row['rejoins'] / 1e6:.1f} M); voluntary exits "
            f"{row['exits_voluntary'] / 1e6:.1f} M = {row['exits_voluntary'] / row['mean_members']:.0%} of the mean "
            f"{row['mean_members'] / 1e6:.1f} M members (price {row['exits_price'] / 1e6:.1f}, contagion "
            f"{row['exits_contagion'] / 1e6:.1f}, other {row['exits_other'] / 1e6:.1f})"
        )
    return lines


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _write_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
