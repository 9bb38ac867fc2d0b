"""Running the model: single runs, batch experiments, results and sensitivity analysis.

The names below are imported on first use, so `import huzhu.experiments` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load": "huzhu.experiments.results",
    "ExperimentResults": "huzhu.experiments.results",
    "load_experiment": "huzhu.experiments.experiment_file",
    "ExperimentFileError": "huzhu.experiments.experiment_file",
    "run_experiment": "huzhu.experiments.sweep",
    "analyse_sensitivity": "huzhu.experiments.sensitivity",
    "ResultFolderError": "huzhu.experiments.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'huzhu.experiments' has no attribute {name!r}")
