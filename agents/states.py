"""Membership states and exit reasons, stored as int8 codes in the population arrays."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Where an agent stands towards the plan; every agent is in exactly one."""

    OUTSIDER = 0  # never joined, or not yet
    WAITING = 1  # joined, inside the waiting period: shares costs, cannot claim
    COVERED = 2  # past the waiting period: shares costs, can claim
    EXITED = 3  # left the plan (reason in ExitReason)
    CLAIMED = 4  # was paid; membership ended with the payout
    AGED_OUT = 5  # reached the maximum age (member or not)


MEMBER_STATES = (State.WAITING, State.COVERED)


class ExitReason(IntEnum):
    """Why an agent's last membership ended (NONE while it has not)."""

    NONE = 0
    PRICE = 1  # charges above willingness to pay
    CONTAGION = 2  # neighbours' recent exits
    OTHER = 3  # baseline churn, reasons outside the model
    ILL_IN_WAITING = 4  # fell ill in the waiting period: refunded, may not rejoin
    CLAIM = 5  # paid a benefit
    AGED_OUT = 6  # reached the maximum age
    CLOSURE = 7  # the plan closed


VOLUNTARY_EXIT_REASONS = (ExitReason.PRICE, ExitReason.CONTAGION, ExitReason.OTHER)
#: Exits a neighbour reads as a verdict on the plan, and so the ones that spread: leaving
#: for the price or after others left. Churn for reasons outside the model (moving on,
#: a lost phone, a changed account) says nothing about the plan's worth.
SIGNAL_EXIT_REASONS = (ExitReason.PRICE, ExitReason.CONTAGION)

#: Whether each ExitReason code is voluntary / a signal, indexed by code (bool): one
#: lookup an agent where a period's outcomes are sorted.
IS_VOLUNTARY_EXIT = np.isin(np.arange(len(ExitReason)), VOLUNTARY_EXIT_REASONS)
IS_SIGNAL_EXIT = np.isin(np.arange(len(ExitReason)), SIGNAL_EXIT_REASONS)
