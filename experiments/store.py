"""The output folder of a batch experiment: written in atomic parts, resumable, checked.

Layout::

    DIR/manifest.json          experiment, fingerprint, seeds, environment, sessions
    DIR/experiment.toml        the experiment file as given
    DIR/design.parquet         the design points
    DIR/runs/part-NNNNNN.parquet        one row per run: ids, seed, status, error, times
    DIR/timeseries/part-NNNNNN.parquet  kept period columns of the runs of that part
    DIR/summaries/part-NNNNNN.parquet   end-of-run metrics of the runs of that part

A batch of finished runs is one part number. Its timeseries and summaries are written
first, its runs part last, each through a temporary file renamed into place; the runs
part is the commit. A sweep killed at any instant therefore leaves only committed parts,
uncommitted data parts (removed on resume, their runs redone) and temporary files
(removed). A run is never half in the results and never in them twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from huzhu.experiments.worker import STATUS_OK, RunOutcome

MANIFEST_FILE = "manifest.json"
EXPERIMENT_FILE = "experiment.toml"
DESIGN_FILE = "design.parquet"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
SUMMARIES_DIR = "summaries"
LOCK_FILE = ".lock"
FORMAT = "huzhu-experiment/1"
PART_PATTERN = re.compile(r"^part-(\d{6})\.parquet$")

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("point", pa.int64()),
        ("replication", pa.int64()),
        ("seed", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("traceback", pa.string()),
        ("started_utc", pa.string()),
        ("wall_seconds", pa.float64()),
        ("host", pa.string()),
        ("pid", pa.int64()),
    ]
)


class ResultFolderError(ValueError):
    """An output folder that cannot be used: another experiment's, corrupt, or busy."""


class ExperimentFolder:
    """Reads and writes one experiment's output folder.

    Use `ExperimentFolder.open_for_writing` to start or resume a sweep and
    `ExperimentFolder(path)` to read (see `huzhu.experiments.results.load`).

    Args:
        path: The folder.

    Raises:
        ResultFolderError: If the folder has no manifest of an experiment.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        self._lock_handle = None

    # ---------------------------------------------------------------- opening
    @classmethod
    def open_for_writing(
        cls, path: str | Path, manifest: dict[str, Any], experiment_text: str, design: pd.DataFrame
    ) -> ExperimentFolder:
        """Create the folder for a new experiment, or reopen it to resume.

        Args:
            path: The folder.
            manifest: The experiment's manifest (must hold "fingerprint").
            experiment_text: The experiment file's text.
            design: The design table.

        Raises:
            ResultFolderError: If the folder holds another experiment (different
                fingerprint) or something that is not an experiment, a part is corrupt,
                or another sweep is writing to it. Nothing is changed in that case.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ResultFolderError(f"{path} is a file, not a folder")
        if (path / MANIFEST_FILE).exists():
            folder = cls(path)
            if folder.manifest.get("fingerprint") != manifest["fingerprint"]:
                raise ResultFolderError(
                    f"{path} holds the results of another experiment "
                    f"({folder.manifest.get('experiment', {}).get('name')!r}, fingerprint "
                    f"{folder.manifest.get('fingerprint')}; this one is {manifest['fingerprint']}); "
                    "choose another --out, or delete the folder to start again"
                )
            folder._lock()
            try:
                folder.check_parts()
                folder._remove_uncommitted()
            except BaseException:
                folder.close()
                raise
            return folder
        if path.exists() and any(path.iterdir()):
            raise ResultFolderError(
                f"{path} is not empty and holds no experiment ({MANIFEST_FILE}); choose another --out"
            )
        # Built beside the target and renamed into place, so a kill never leaves a half-made folder.
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".creating"))
        try:
            for sub in (RUNS_DIR, TIMESERIES_DIR, SUMMARIES_DIR):
                (staging / sub).mkdir()
            (staging / EXPERIMENT_FILE).write_text(experiment_text, encoding="utf-8")
            pq.write_table(pa.Table.from_pandas(design, preserve_index=False), staging / DESIGN_FILE)
            (staging / MANIFEST_FILE).write_bytes(_json_bytes({"format": FORMAT, **manifest, "sessions": []}))
            os.rename(staging, path)  # replaces an empty folder at `path`, refuses a non-empty one
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        folder = cls(path)
        folder._lock()
        return folder

    def _lock(self) -> None:
        handle = open(self.path / LOCK_FILE, "a")  # held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ResultFolderError(f"{self.path} is being written by another sweep (lock {LOCK_FILE})") from None
        self._lock_handle = handle

    def close(self) -> None:
        """Release the folder's lock."""
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    # ---------------------------------------------------------------- parts
    def part_numbers(self, sub: str) -> list[int]:
        """Part numbers present in a sub-folder, in order."""
        folder = self.path / sub
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := PART_PATTERN.match(p.name)))

    def part_path(self, sub: str, number: int) -> Path:
        return self.path / sub / f"part-{number:06d}.parquet"

    def check_parts(self) -> None:
        """Raise ResultFolderError naming the first part that is not a readable Parquet file."""
        for sub in (RUNS_DIR, TIMESERIES_DIR, SUMMARIES_DIR):
            for number in self.part_numbers(sub):
                path = self.part_path(sub, number)
                try:
                    pq.read_metadata(path)
                except Exception as error:
                    raise ResultFolderError(
                        f"{path} is not a readable Parquet file ({error}); the folder was left as it is: "
                        "move that part away and the same command reruns its runs, or start a new folder"
                    ) from None

    def incomplete_parts(self) -> dict[int, Path]:
        """Committed runs parts whose successful runs lack a data part (moved or deleted
        after the commit): part number to the missing file."""
        keeps_series = bool(self.manifest.get("experiment", {}).get("timeseries"))
        missing = {}
        for number in self.part_numbers(RUNS_DIR):
            needed = [SUMMARIES_DIR, *([TIMESERIES_DIR] if keeps_series else [])]
            absent = [self.part_path(sub, number) for sub in needed if not self.part_path(sub, number).exists()]
            if absent and (read_part(self.part_path(RUNS_DIR, number))["status"] == STATUS_OK).any():
                missing[number] = absent[0]
        return missing

    def _remove_uncommitted(self) -> None:
        """Remove what a killed sweep can leave: temporary files, data parts without their
        runs part, and runs parts whose data part is gone (their runs are redone)."""
        for number in self.incomplete_parts():
            self.part_path(RUNS_DIR, number).unlink()
        committed = set(self.part_numbers(RUNS_DIR))
        for leftover in self.path.glob(".*.tmp"):
            leftover.unlink()
        for sub in (RUNS_DIR, TIMESERIES_DIR, SUMMARIES_DIR):
            folder = self.path / sub
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink()
            for number in self.part_numbers(sub):
                if number not in committed:
                    self.part_path(sub, number).unlink()

    def run_records(self) -> pd.DataFrame:
        """Every committed run record, the latest attempt of each run (column `part` added)."""
        frames = []
        for number in self.part_numbers(RUNS_DIR):
            frame = read_part(self.part_path(RUNS_DIR, number))
            frame["part"] = number
            frames.append(frame)
        if not frames:
            return pd.DataFrame({name: pd.Series(dtype=_pandas_dtype(t)) for name, t in zip(
                RUNS_SCHEMA.names, RUNS_SCHEMA.types, strict=True)}).assign(part=pd.Series(dtype="int64"))  # fmt: skip
        records = pd.concat(frames, ignore_index=True)
        return records.sort_values(["run_id", "part"]).drop_duplicates("run_id", keep="last").reset_index(drop=True)

    def write_batch(self, outcomes: list[RunOutcome]) -> int:
        """Commit finished runs as one part; returns the part number."""
        number = max([0, *self.part_numbers(RUNS_DIR)]) + 1
        series = [o.timeseries for o in outcomes if o.timeseries is not None]
        if series:
            table = pa.Table.from_pandas(pd.concat(series, ignore_index=True), preserve_index=False)
            write_table_atomically(self.part_path(TIMESERIES_DIR, number), table)
        summaries = [{"run_id": o.record["run_id"], **o.summary} for o in outcomes if o.record["status"] == STATUS_OK]
        if summaries:
            frame = pd.DataFrame(summaries).astype({"run_id": "int64"})
            table = pa.Table.from_pandas(frame, preserve_index=False)
            write_table_atomically(self.part_path(SUMMARIES_DIR, number), table)
        records = pa.Table.from_pylist([o.record for o in outcomes], schema=RUNS_SCHEMA)
        write_table_atomically(self.part_path(RUNS_DIR, number), records)
        return number

    def update_manifest(self, **changes: Any) -> None:
        """Rewrite the manifest atomically with `changes` applied."""
        self.manifest.update(changes)
        write_atomically(self.path / MANIFEST_FILE, _json_bytes(self.manifest))


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an experiment folder.

    Raises:
        ResultFolderError: If it is missing, unreadable or not an experiment's manifest.
    """
    file = Path(path) / MANIFEST_FILE
    if not file.exists():
        raise ResultFolderError(f"{path} holds no experiment: {MANIFEST_FILE} is missing")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResultFolderError(f"{file} cannot be read as JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ResultFolderError(f"{file} is not the manifest of a huzhu experiment (format {FORMAT!r})")
    return manifest


def read_part(path: Path) -> pd.DataFrame:
    """A Parquet part as a DataFrame.

    Raises:
        ResultFolderError: If the file cannot be read, naming it.
    """
    try:
        return pq.read_table(path).to_pandas()
    except Exception as error:
        raise ResultFolderError(f"{path} is not a readable Parquet file ({error})") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write bytes through a temporary file in the same folder, renamed over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_table_atomically(path: Path, table: pa.Table) -> None:
    """Write a Parquet file through a temporary file renamed over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json_bytes(content: dict) -> bytes:
    return json.dumps(content, indent=2, default=str).encode()


def _pandas_dtype(arrow_type: pa.DataType) -> str:
    return {pa.int64(): "int64", pa.float64(): "float64"}.get(arrow_type, "object")
