"""What a result was made from: package version, git commit, libraries, machine."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

LIBRARIES = ("mesa", "numpy", "scipy", "pandas", "networkx", "matplotlib", "pyarrow", "salib", "dask", "distributed")


def git_commit() -> str | None:
    """Commit of the source tree the package runs from ("-dirty" if changed), or None."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=source,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def environment() -> dict:
    """Package and library versions, Python and platform."""
    versions = {}
    for name in ("huzhu", *LIBRARIES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "huzhu_version": versions.pop("huzhu"),
        "git_commit": git_commit(),
        "libraries": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
