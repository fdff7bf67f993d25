"""The dry run's columns of a large batch results file, read by pandas' C parser (plaincsv).

The same cells the narrowed `read_batch(path, keep=CHECKED_COLUMNS)` holds, as columns, for a
batch where every row is an assignment: None for anything else (not plain, a header without an
AssignmentId, a blank row or a row without an AssignmentId, a cut last record), and the caller
then reads it with read_batch, so what is said of such a file stays read_batch's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ...plaincsv import Coded, read_columns

# Columns whose cells repeat (a study has a few HITs, rewards, sizes and statuses): read coded.
_FEW_VALUES = frozenset({"HITId", "Reward", "MaxAssignments", "AssignmentStatus"})


@dataclass(frozen=True)
class BatchColumns:
    path: str
    rows: int
    cells: dict[str, object]  # column name (as RawBatch.column finds it) -> object array or Coded
    _ids: object  # pandas Index of the first row of each AssignmentId (stripped)
    _first: np.ndarray  # the row each entry of _ids stands for

    def has(self, name: str) -> bool:
        return name in self.cells

    def at(self, name: str, pos: np.ndarray) -> np.ndarray:
        """The column's cells of rows `pos` (object array; "" for a column the file lacks)."""
        col = self.cells.get(name)
        if col is None:
            return np.full(len(pos), "", dtype=object)
        if isinstance(col, Coded):
            return col.cells()[pos]
        return col[pos]  # type: ignore[index]

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """The row of each (stripped) AssignmentId in `ids`, -1 where the batch has none."""
        k = self._ids.get_indexer(ids)  # type: ignore[attr-defined]
        return np.where(k >= 0, self._first[k], -1)


def read_batch_columns(path: str | os.PathLike, keep: Sequence[str]) -> BatchColumns | None:
    import pandas as pd

    p = Path(path)
    at: dict[str, int] = {}

    def pick(header: list[str]) -> dict[int, bool] | None:
        first: dict[str, int] = {}
        for j, h in enumerate(header):
            first.setdefault(h.strip(), j)  # RawBatch.column: the first column of the name
        if "AssignmentId" not in first:
            return None
        at.update({name: first[name] for name in dict.fromkeys(keep) if name in first})
        return {j: name in _FEW_VALUES for name, j in at.items()}

    plain = read_columns(p, pick)
    if plain is None or not plain.rows or plain.last_width is None:
        return None
    if plain.last_width * 2 < len(plain.header):  # a cut last record: read_batch says so
        return None
    cells: dict[str, object] = {name: plain.columns[j] for name, j in at.items()}
    ids: np.ndarray = np.asarray([a.strip() for a in cells["AssignmentId"]], dtype=object)  # type: ignore[attr-defined,type-var]
    if not all(ids):  # a blank row, or an assignment without its ID: read_batch's reading
        return None
    index = pd.Index(ids)
    if index.is_unique:
        first = np.arange(len(ids))
    else:
        keep_first = ~index.duplicated(keep="first")
        first = np.flatnonzero(keep_first)
        index = pd.Index(ids[keep_first])
    return BatchColumns(str(p), plain.rows, cells, index, first)
