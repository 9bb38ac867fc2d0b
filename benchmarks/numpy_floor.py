"""The numpy floor for one period of a network mutual-aid model.

Copied unchanged in its workload from the project's shared benchmark material
(bench/numpy_floor.py), so that `run_benchmarks.py` can measure it in the same session as
the model without depending on files outside the repository.

The least work a period needs when written with numpy/scipy array passes: one uniform
per agent for leaving and one for illness, a sparse neighbour count over a CSR network of
ten ties per agent, a logistic exit hazard and a Bernoulli claim. It models nothing; it
measures what this machine gives numpy for that much work, so a full model's speed can be
read as a ratio to it, measured in the same run.

    python numpy_floor.py N PERIODS   # prints seconds per period and agent-periods per second
"""

import sys
import time

import numpy as np
import scipy.sparse as sp


def main(n: int, periods: int) -> None:
    rng = np.random.default_rng(1)
    ties = 10
    targets = (np.arange(n)[:, None] + rng.integers(1, n, size=(n, ties))) % n
    network = sp.csr_matrix(
        (
            np.ones(n * ties, dtype=np.float32),
            targets.ravel().astype(np.int32),
            np.arange(0, n * ties + 1, ties, dtype=np.int64),
        ),
        shape=(n, n),
    )
    risk = rng.lognormal(-7, 1, n).astype(np.float32)
    sensitivity = rng.lognormal(0, 0.3, n).astype(np.float32)
    member = rng.random(n) < 0.5
    exited_last = np.zeros(n, dtype=np.float32)
    start = time.perf_counter()
    for _ in range(periods):
        uniform = rng.random(n, dtype=np.float32)
        exposure = network @ exited_last
        logit = -6 + sensitivity * np.log1p(0.5 / (risk * 1e4)) + 0.6 * exposure
        leave = member & (uniform < 1 / (1 + np.exp(-logit)))
        claim = member & (rng.random(n, dtype=np.float32) < risk / 24)
        member &= ~(leave | claim)
        exited_last = leave.astype(np.float32)
    per_period = (time.perf_counter() - start) / periods
    print(f"n={n} step_s={per_period:.4f} agent_steps_per_s={n / per_period:.3e}")


if __name__ == "__main__":
    main(int(float(sys.argv[1])), int(sys.argv[2]))
