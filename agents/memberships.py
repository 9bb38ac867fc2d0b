"""What a person's membership of a plan holds, kept only for those who have joined it.

Most people never join most plans, so a model of several plans keeps per person and plan
only what everyone needs (state, exposure, members among the neighbours; see
`Population`) and the rest of a membership in a record, made when a person first joins a
plan and kept after the membership ends: the periods of the last join and exit and of the
first join, the last exit's reason, whether a relative enrolled the member, and the
member's money. The records of all of a model's plans share one store; each person's
records form a list (`head` -> `next_record`), found by the plan's number. A person holds
a handful of records at most, so finding one walks a few links.

The store only changes where it is stored: every value a rule reads is the one a dense
array would hold (a person without a record reads the field's `fill`), so runs are
identical to the bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from huzhu.agents.states import ExitReason

#: No period yet (a join or exit that has not happened).
NO_PERIOD = -1

#: Each record field: its type and the value a person without a record reads.
FIELDS = {
    "join_period": (np.int16, NO_PERIOD),  # the last join (periods)
    "exit_period": (np.int16, NO_PERIOD),  # the last exit (periods)
    "first_join_period": (np.int16, NO_PERIOD),  # the first join: the select effect runs from it (periods)
    "exit_reason": (np.int8, int(ExitReason.NONE)),  # why the last membership ended
    "enrolled_by_family": (np.bool_, False),  # a relative enrolled the member at its last join
    "contributions_cny": (np.float64, 0.0),  # shares paid over the run (CNY per person)
    "paid_this_year_cny": (np.float64, 0.0),  # shares paid this calendar year (CNY per person)
    "paid_this_membership_cny": (np.float64, 0.0),  # shares paid since the last join (CNY per person)
}

#: The store grows by this factor when full. Each field is resized in place (a large
#: block is remapped by the operating system, not copied), so growing never holds two
#: copies of the store and a small factor costs little.
GROWTH = 1.05


class RecordLinks(NamedTuple):
    """What a compiled pass needs to find a person's record of a plan."""

    head: np.ndarray  # per person: its most recent record, -1 if none (int32)
    next_record: np.ndarray  # per record: the person's record before it, -1 if none (int32)
    record_plan: np.ndarray  # per record: the plan's number (int8)
    plan: int  # the plan whose records are wanted


@njit(cache=True, inline="always")
def record_of(links, i):
    """Person i's record of `links.plan` (-1 if it has never joined the plan)."""
    r = links.head[i]
    while r >= 0 and links.record_plan[r] != links.plan:
        r = links.next_record[r]
    return r


@njit(cache=True, parallel=True)
def _records_of(links, people, out):
    for k in prange(people.size):
        out[k] = record_of(links, people[k])


@njit(cache=True)
def _link(head, next_record, record_plan, people, plan, first):
    for k in range(people.size):
        r = first + k
        next_record[r] = head[people[k]]
        record_plan[r] = plan
        head[people[k]] = r


class Memberships:
    """The records of every plan of one model, over its people.

    Attributes:
        head: Per person, its most recent record (-1 if none; int32).
        next_record: Per record, the same person's record before it (-1 if none; int32).
        record_plan: Per record, the plan's number (int8).
        size: Records in use (the arrays hold room for more).
        One array per name of `FIELDS`, per record.
    """

    def __init__(self, n_people: int, capacity: int = 1024):
        self.head = np.full(n_people, -1, dtype=np.int32)
        self.size = 0
        self.plans = 0
        self.next_record = np.empty(capacity, dtype=np.int32)
        self.record_plan = np.empty(capacity, dtype=np.int8)
        for name, (dtype, _) in FIELDS.items():
            setattr(self, name, np.empty(capacity, dtype=dtype))

    def add_plan(self) -> int:
        """A number for one more plan whose records the store keeps."""
        if self.plans == np.iinfo(np.int8).max + 1:
            raise ValueError(f"a model holds at most {self.plans} plans")
        self.plans += 1
        return self.plans - 1

    @property
    def capacity(self) -> int:
        return self.next_record.size

    @property
    def nbytes(self) -> int:
        """Memory held by the store, its unused room included (bytes)."""
        arrays = [self.head, self.next_record, self.record_plan, *(getattr(self, name) for name in FIELDS)]
        return sum(a.nbytes for a in arrays)

    def links(self, plan: int) -> RecordLinks:
        """The links a compiled pass reads to find `plan`'s records."""
        return RecordLinks(self.head, self.next_record, self.record_plan, int(plan))

    def records_of(self, plan: int, people) -> np.ndarray:
        """Each person's record of `plan` (-1 for one who has never joined it; int64)."""
        people = np.atleast_1d(np.asarray(people, dtype=np.int64))
        out = np.empty(people.size, dtype=np.int64)
        if people.size:
            _records_of(self.links(plan), people, out)
        return out

    def open(self, plan: int, people) -> np.ndarray:
        """Each person's record of `plan`, made (with every field at its fill) for those
        who have none. `people` holds no one twice.

        Returns:
            The records (int64), in the order of `people`.
        """
        people = np.atleast_1d(np.asarray(people, dtype=np.int64))
        records = self.records_of(plan, people)
        new = people[records < 0]
        if new.size:
            self._reserve(new.size)
            first = self.size
            self.size += new.size
            _link(self.head, self.next_record, self.record_plan, new, plan, first)
            for name, (_, fill) in FIELDS.items():
                getattr(self, name)[first : self.size] = fill
            records[records < 0] = np.arange(first, self.size)
        return records

    def _reserve(self, more: int) -> None:
        if self.size + more <= self.capacity:
            return
        capacity = max(self.size + more, int(self.capacity * GROWTH) + 1024)
        for name in ("next_record", "record_plan", *FIELDS):
            # Only the store holds its arrays (readers get copies or take them for one
            # call), so nothing still points at the old block.
            getattr(self, name).resize(capacity, refcheck=False)

    def values(self, plan: int, name: str, people) -> np.ndarray:
        """Field `name` of each person's record of `plan` (the field's fill where none)."""
        dtype, fill = FIELDS[name]
        records = self.records_of(plan, people)
        out = np.full(records.size, fill, dtype=dtype)
        found = records >= 0
        out[found] = getattr(self, name)[records[found]]
        return out
