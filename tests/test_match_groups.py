"""code_join._repeated, the groups of stages 3 and 5: exactly the groups of more than one member a
dict of lists of every value gave, each in source order."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from reconcile.match.code_join import _repeated


@given(st.lists(st.sampled_from(["", "A", "B", "C", "D", None]), max_size=40))
def test_repeated_equals_grouping_everything(values):
    items = [SimpleNamespace(participant=v, row=i) for i, v in enumerate(values)]
    every: dict[object, list] = defaultdict(list)
    for it in items:
        if it.participant:
            every[it.participant].append(it)
    expected = sorted(([it.row for it in g] for g in every.values() if len(g) > 1))
    assert sorted([it.row for it in g] for g in _repeated(items, "participant")) == expected  # type: ignore[arg-type]
