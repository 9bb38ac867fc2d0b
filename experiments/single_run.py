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

from huzhu.experiments.figures import overview_figure
from huzhu.experiments.provenance import environment
from huzhu.model.model import MutualAidModel

TIMESERIES_FILE = "timeseries.csv"
MANIFEST_FILE = "manifest.json"
FIGURE_FILE = "overview.png"


class OutputExistsError(FileExistsError):
    """The output folder already holds a run; nothing was overwritten."""


@dataclass
class RunResult:
    """A finished run: its table, its manifest and where they were written."""

    table: pd.DataFrame
    manifest: dict
    out_dir: Path | None


def run_model(params: dict[str, Any], seed: int, preset: str = "default", progress: bool = True) -> tuple[MutualAidModel, pd.DataFrame, float]:
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
    with tqdm(total=model.n_periods, unit="period", desc=f"huzhu {model.params['n_agents']:,} agents", disable=None if progress else True, leave=False) as bar:
        table = model.run(progress=lambda _period: bar.update(1))
    return model, table, time.perf_counter() - started


def run_and_save(params: dict[str, Any], seed: int | None, out_dir: Path | None, preset: str = "default", progress: bool = True, overwrite: bool = False) -> RunResult:
    """Run one model and write timeseries.csv, manifest.json and overview.png/pdf.

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
            raise OutputExistsError(f"{out_dir} already holds a run ({MANIFEST_FILE}); choose another --out or pass --overwrite")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    started_at = dt.datetime.now(dt.timezone.utc)
    model, table, wall_seconds = run_model(params, seed, preset, progress)
    manifest = {
        "command": "huzhu run",
        "preset": preset,
        "seed": seed,
        "parameters": {name: _jsonable(value) for name, value in model.params.items()},
        "overrides": {name: _jsonable(value) for name, value in params.items()},
        "periods": len(table),
        "started_utc": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        **environment(),
        "files": [TIMESERIES_FILE, MANIFEST_FILE, FIGURE_FILE, Path(FIGURE_FILE).with_suffix(".pdf").name],
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(out_dir / TIMESERIES_FILE, lambda f: table.to_csv(f, index=False, float_format="%.10g", date_format="%Y-%m-%d"))
        overview_figure(table, out_dir / FIGURE_FILE, title=f"huzhu, preset {preset}, {model.params['n_agents']:,} agents, seed {seed}")
        # The manifest goes last: a folder with a manifest holds a complete run.
        _write_atomically(out_dir / MANIFEST_FILE, lambda f: json.dump(manifest, f, indent=2))
    return RunResult(table=table, manifest=manifest, out_dir=out_dir)


def summarise(table: pd.DataFrame) -> str:
    """A few lines on the run: peak, decline, share growth, money, selection."""
    peak_row = table.loc[table["members"].idxmax()]
    sharing = table[table["share_per_member"] > 0]
    first_share = sharing["share_per_member"].iloc[:4].mean() if len(sharing) else float("nan")
    by_year = table.assign(year=table["date"].dt.year).groupby("year")
    share_per_year = by_year["share_per_member"].sum()
    last_open = table[table["members"] > 0].iloc[-1]
    lines = [
        f"peak members      {peak_row['members'] / 1e6:8.1f} M on {peak_row['date']:%Y-%m-%d}; {last_open['members'] / 1e6:.1f} M at {last_open['date']:%Y-%m-%d}",
        f"share per member  {first_share:8.2f} CNY a period in the first sharing periods; per year: "
        + ", ".join(f"{year} {value:.0f}" for year, value in share_per_year.items() if value > 0),
        f"aided             {table['cumulative_aided'].iloc[-1] / 1e3:8.1f} k people, benefits {table['payouts'].sum() / 1e9:.2f} bn CNY",
        f"platform          fees {table['fee_revenue'].sum() / 1e6:.0f} M CNY, subsidies {table['platform_subsidy'].sum() / 1e6:.0f} M CNY, commission {table['commission_revenue'].sum() / 1e6:.0f} M CNY",
        f"selection         adverse-selection index {table['adverse_selection_index'].iloc[0]:.2f} at launch, {last_open['adverse_selection_index']:.2f} at the end",
        f"cross-sell        considering insurance: members {last_open['consider_rate_members']:.0%}, non-members {last_open['consider_rate_nonmembers']:.0%}",
    ]
    return "\n".join(lines)


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
