"""Threads of the compiled passes, and the fixed blocks that make their sums reproducible.

The compiled passes (Numba, `prange`) share a period's agents among threads. Every sum
that feeds the books is taken block by block, over fixed blocks of `BLOCK_AGENTS`
consecutive agents in index order, and the blocks' partial sums are then added in
block order: the blocks depend on neither the number of threads nor the chunk size, so
neither changes a single bit of a run.

The thread count is numba's: `HUZHU_THREADS` (or `NUMBA_NUM_THREADS`) in the
environment, or `set_threads`. Worker processes of the executors use one thread each
unless `HUZHU_THREADS` says otherwise (experiments/executors.py: `one_thread_each`), so
that processes and threads do not compete for the cores.

The threads sleep between parallel regions (`OMP_WAIT_POLICY=PASSIVE` unless the
environment says otherwise): by default GNU OpenMP's threads spin after each region,
and that spin took the cores from a second process or from the serial work between
regions (two per-agent runs side by side: 28 s each against 4 s).
"""

from __future__ import annotations

import os

#: Agents per block of a reduction and of a compiled pass's draws: long enough that
#: starting a block (jumping its generator, about a microsecond) costs little against its
#: work, short enough that a chunk of 2^20 agents makes 128 blocks to share among threads.
BLOCK_AGENTS = 1 << 13

THREADS_ENVIRONMENT = "HUZHU_THREADS"

# Read by OpenMP when numba first starts its threads, so set on importing huzhu.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def set_threads(threads: int) -> None:
    """Run the compiled passes of this process on `threads` threads (1 to the cores numba found).

    Raises:
        ValueError: `threads` is not an integer in that range.
    """
    import numba  # here, not at import: the executors read THREADS_ENVIRONMENT without compiling anything

    most = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= most:
        raise ValueError(f"threads={threads!r} is not allowed: an integer from 1 to {most} (the cores numba found)")
    numba.set_num_threads(threads)


def threads() -> int:
    """Threads the compiled passes of this process run on."""
    import numba

    return numba.get_num_threads()


def threads_from_environment() -> None:
    """Apply `HUZHU_THREADS` if it is set (called once, when huzhu is imported).

    Raises:
        ValueError: It is set to anything but an integer from 1 to the cores numba found.
    """
    value = os.environ.get(THREADS_ENVIRONMENT)
    if value is None or value == "":
        return
    try:
        count = int(value)
    except ValueError:
        count = value
    try:
        set_threads(count)
    except ValueError as error:
        raise ValueError(f"{THREADS_ENVIRONMENT}={value!r}: {error}") from None
