"""The public record as a validated table of observations.

Xianghubao's, in three files of data/ (each row with its source and status): the dated
operating figures of 2018-2020, the member-survey facts, and quantities derived from them
(with the derivation in the row's note); and the other platforms' to 2020, in a fourth
(`load_market_observations`). Rows are checked on load, and any fault is an
error naming the file, the line and the field: a missing column, a date that is not an
ISO date, an unknown quantity, a unit that is not the quantity's, a value that is not a
non-negative number, a status other than verified / reported / derived, or the same
quantity twice on one date.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from importlib import resources
from pathlib import Path

import pandas as pd

from huzhu.model.market import MODELLED_PLATFORM

OBSERVATION_FILES = (
    "xianghubao_observations_2018_2020.csv",
    "xianghubao_member_surveys.csv",
    "xianghubao_derived.csv",
)
#: Observations of the market's other platforms, each plan named "platform.plan" as in
#: data/market.toml (a plan named without a platform is Xianghubao's), and of the whole
#: industry ("industry.all_plans": every platform's plans together).
MARKET_OBSERVATION_FILES = ("market_observations_2016_2020.csv",)
COLUMNS = ("date", "plan", "quantity", "value", "unit", "note", "source", "status")
STATUSES = ("verified", "reported", "derived")

#: Unit of each quantity with a value; events (launch, rename) have neither.
UNITS = {
    "members": "people",
    "share_per_member_per_period": "CNY",
    "cases_per_period": "people",
    "cumulative_aided": "people",
    "share_per_member_per_year": "CNY",
    "aided_in_year": "people",
    "total_shared_in_year": "CNY",
    "funds_paid_in_year": "CNY",  # paid to the ill, fees not included
    "management_fees_in_year": "CNY",
    "mean_sharing_members_in_year": "people",
    "shared_per_case": "CNY",
    "mean_member_age": "years",
    "consider_rate_members": "share",
    "consider_rate_nonmembers": "share",
    "aided_enrolled_by_family_share": "share",
}
EVENTS = ("launch", "rename")


class ObservationError(ValueError):
    """An observation file is malformed; the message names the file, line and field."""


def data_path(name: str) -> Path:
    """Path of a file shipped in the package's data folder."""
    return Path(str(resources.files("huzhu.data").joinpath(name)))


def load_observations(paths: list[Path] | None = None) -> pd.DataFrame:
    """Every observation with a value, validated, as one DataFrame.

    Args:
        paths: Observation CSV files (default: the project's, `OBSERVATION_FILES`).

    Returns:
        Columns `date` (datetime.date), `plan`, `quantity`, `value` (float), `unit`,
        `note`, `source`, `status`, `file`, `line`; events without a value are left out.

    Raises:
        ObservationError: On any malformed row, naming file, line and field.
    """
    rows = []
    seen: dict[tuple, str] = {}
    for path in paths or [data_path(name) for name in OBSERVATION_FILES]:
        for row in _read(Path(path)):
            key = (row["date"], row["plan"], row["quantity"])
            where = f"{row['file']}, line {row['line']}"
            if key in seen:
                raise ObservationError(f"{where}: {row['quantity']} on {row['date']} is already given at {seen[key]}")
            seen[key] = where
            if row["value"] is not None:
                rows.append(row)
    return pd.DataFrame(rows, columns=[*COLUMNS, "file", "line"])


def load_market_observations(paths: list[Path] | None = None) -> pd.DataFrame:
    """Every observation of the market's plans, Xianghubao's and the other platforms',
    validated as `load_observations` does, with the plan's platform.

    Args:
        paths: Observation CSV files (default: `OBSERVATION_FILES` and
            `MARKET_OBSERVATION_FILES`).

    Returns:
        `load_observations`' columns, `plan` now the plan's key within its platform, and
        `platform` (keys of data/market.toml).
    """
    table = load_observations(paths or [data_path(name) for name in (*OBSERVATION_FILES, *MARKET_OBSERVATION_FILES)])
    named = table["plan"].str.partition(".")
    has_platform = named[1] == "."
    table.insert(1, "platform", named[0].where(has_platform, MODELLED_PLATFORM))
    table["plan"] = named[2].where(has_platform, named[0])
    return table


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise ObservationError(f"{path}: no such observation file")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ObservationError(
                f"{path.name}, line 1: missing column(s) {', '.join(missing)}; need {', '.join(COLUMNS)}"
            )
        return [_row(raw, path.name, line) for line, raw in enumerate(reader, start=2)]


def _row(raw: dict, file: str, line: int) -> dict:
    where = f"{file}, line {line}"
    try:
        date = dt.date.fromisoformat((raw["date"] or "").strip())
    except ValueError:
        raise ObservationError(f"{where}: date {raw['date']!r} is not an ISO date (YYYY-MM-DD)") from None
    quantity = (raw["quantity"] or "").strip()
    status = (raw["status"] or "").strip()
    if status not in STATUSES:
        raise ObservationError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
    if not (raw["source"] or "").strip():
        raise ObservationError(f"{where}: source is empty; every observation names its source")
    text, unit = (raw["value"] or "").strip(), (raw["unit"] or "").strip()
    value = None
    if quantity in EVENTS:
        if text:
            raise ObservationError(f"{where}: value: the event {quantity!r} takes no value")
    elif quantity in UNITS:
        try:
            value = float(text)
        except ValueError:
            raise ObservationError(f"{where}: value {text!r} of {quantity} is not a number") from None
        if not (value >= 0 and math.isfinite(value)):
            raise ObservationError(f"{where}: value {text!r} of {quantity} is negative or not a finite number")
        if unit != UNITS[quantity]:
            raise ObservationError(f"{where}: unit {unit!r} of {quantity}: allowed {UNITS[quantity]!r}")
    else:
        raise ObservationError(f"{where}: quantity {quantity!r} is unknown: one of {', '.join([*UNITS, *EVENTS])}")
    return {
        "date": date, "plan": (raw["plan"] or "").strip(), "quantity": quantity, "value": value, "unit": unit,
        "note": raw["note"] or "", "source": raw["source"].strip(), "status": status, "file": file, "line": line,
    }  # fmt: skip
