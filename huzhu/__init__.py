"""huzhu: an agent-based model of China's online mutual-aid platforms (Xianghubao, 2018-2022).

>>> from huzhu import MutualAidModel
>>> model = MutualAidModel(n_agents=5000, rng=1)
>>> table = model.run()          # one row per half-month period
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from huzhu.model import threads as _threads  # noqa: F401  (the threads' wait policy, before any pass runs)
from huzhu.model.parameters import PARAMETERS, ParameterError

# The model's classes load on first use (PEP 562), so that `huzhu --help` and the
# parameter table do not wait for Mesa, scipy and pandas to import.
_LAZY = {
    "MemberAgent": "huzhu.agents.member",
    "PlatformAgent": "huzhu.agents.platform",
    "MutualAidModel": "huzhu.model.model",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'huzhu' has no attribute {name!r}")


try:
    __version__ = version("huzhu")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PARAMETERS", "MemberAgent", "MutualAidModel", "ParameterError", "PlatformAgent", "__version__"]
