"""Serving the browser app with Solara, offline.

Solara loads its front end (Vue, Vuetify, RequireJS, fonts) from a CDN unless it finds
the files in its proxy cache; the `solara-assets` package installs them into
`<venv>/share/solara/cdn`, the cache's default place, and the environment below makes a
missing file fail at once instead of waiting on an unreachable CDN. The app uses
matplotlib and plain HTML only, because Solara's Markdown (KaTeX) and Altair (Vega)
components ask for files solara-assets 1.58.2 does not ship.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

APP = "huzhu.viz.app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # Solara's own default
READY_TIMEOUT_SECONDS = 120.0  # start-up measured at 4-6 s on 2 cores; generous for a loaded CI machine

#: Where solara-assets puts the front-end files (Solara's default proxy cache).
ASSETS_DIR = Path(sys.prefix) / "share" / "solara" / "cdn"


class ServerError(RuntimeError):
    """The app's server could not be started or did not become ready."""


def offline_environment() -> dict[str, str]:
    """Environment variables that keep Solara off the network."""
    return {
        "SOLARA_ASSETS_PROXY": "True",  # the browser gets /_solara/cdn/* from this server
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(ASSETS_DIR),
        # A file missing from the cache is otherwise fetched from jsdelivr, four tries of 10 s.
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/npm/",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }


def check_assets() -> None:
    """Raise ServerError unless the bundled front-end files are installed."""
    if not (ASSETS_DIR / "requirejs@2.3.6").is_dir():
        raise ServerError(
            f"Solara's front-end files are not in {ASSETS_DIR}: install the package `solara-assets` "
            "(pip install solara-assets==1.58.2), which the huzhu package requires"
        )


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the app (Solara's production server, no browser opened)."""
    return [
        sys.executable, "-m", "solara", "run", APP, "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version",
    ]  # fmt: skip


def start_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log=None) -> subprocess.Popen:
    """Start the app's server in its own process group.

    Args:
        host: Interface to listen on.
        port: TCP port.
        log: File to receive the server's output (default: this process's).

    Returns:
        The server process; stop it with `stop_server`.
    """
    check_assets()
    return subprocess.Popen(
        server_command(host, port),
        env={**os.environ, **offline_environment()},
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def wait_until_ready(process: subprocess.Popen, host: str, port: int, timeout: float = READY_TIMEOUT_SECONDS) -> float:
    """Poll Solara's /readyz until it answers; return the seconds waited.

    Raises:
        ServerError: If the process exits or the server is not ready within `timeout`.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise ServerError(f"the app's server exited with status {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise ServerError(f"the app's server was not ready on http://{host}:{port} after {timeout:.0f} s")


def stop_server(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """Stop the server by its process id (its whole process group); return its status."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode
