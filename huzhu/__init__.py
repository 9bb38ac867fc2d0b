"""huzhu: an agent-based model of China's online mutual-aid platforms (Xianghubao, 2018-2022).

>>> from huzhu import MutualAidModel
>>> model = MutualAidModel(n_agents=5000, rng=1)
>>> table = model.run()          # one row per half-month period
"""

from importlib.metadata import PackageNotFoundError, version

from huzhu.agents.member import MemberAgent
from huzhu.agents.platform import PlatformAgent
from huzhu.model.model import MutualAidModel
from huzhu.model.parameters import PARAMETERS, ParameterError

try:
    __version__ = version("huzhu")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PARAMETERS", "MemberAgent", "MutualAidModel", "ParameterError", "PlatformAgent", "__version__"]
