"""Which plan's table the browser app shows: in a market model, the plan picked in its
selector; otherwise (and until one is picked) the modelled plan's.

The choice is a Solara reactive variable, so each browser session keeps its own.
"""

from __future__ import annotations

import solara

#: "platform.plan" of the plan shown ("" for the modelled plan).
plan_shown = solara.reactive("")


def shown_pool(model):
    """The pool whose table the panels show (`huzhu.model.pool.Pool`)."""
    key = plan_shown.value
    return next((pool for pool in model.pools if pool.key == key), model.pool)


def shown_table(model):
    """The shown plan's period table so far (the DataCollector's for the modelled plan)."""
    pool = shown_pool(model)
    return model.results() if pool is model.pool else pool.results()
