"""What a benchmark was measured on, and how its result table is published."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
from pathlib import Path


def machine() -> dict:
    """What the numbers were measured on."""
    import numpy

    import huzhu

    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory = "unknown"
    if Path("/proc/meminfo").exists():
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "huzhu": huzhu.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def publish(title: str, body: list[str], out: Path, name: str) -> Path:
    """Print a result table headed by its title, time and machine, and write it to
    out/YYYYmmdd-HHMM-name.md. Returns the file written."""
    now = dt.datetime.now(dt.UTC)
    lines = [
        f"# {title}, {now:%Y-%m-%d %H:%M} UTC",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()),
    ]
    table = "\n".join([*lines, "", *body]) + "\n"
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{now:%Y%m%d-%H%M}-{name}.md"
    target.write_text(table)
    print(f"wrote {target}")
    return target
