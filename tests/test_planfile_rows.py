"""read_plan's rows share one column index (a tuple of cells each) and read as the dict they were."""

from __future__ import annotations

from reconcile.csvsafe import unescape
from reconcile.planfile import plan_columns, read_plan


def test_plan_rows_read_as_the_dict_of_their_cells(tmp_path):
    cols = plan_columns("mturk")
    header = list(cols.values()) + ["", "note", ""]
    p = tmp_path / "plan.csv"
    lines = [
        ",".join(header),
        ",".join(f"v{j}" for j in range(len(header))),  # every cell
        "'=1+1,x",  # a short row: the rest read as ""
        ",".join(["w"] * len(header) + ["extra"]),  # a long row: the extra cell is not a column
        ",,,",  # blank: skipped
    ]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = read_plan(p)
    field_of = {c: f for f, c in cols.items()}
    names = [field_of.get(h, h) for h in header]
    assert [r.line for r in plan.rows] == [2, 3, 4]
    for raw, text in zip(plan.rows, lines[1:4]):
        rec = text.split(",")
        # What the reader built before: a dict, later repeats of a (blank) name winning.
        expected = {h: (unescape(rec[j]) if rec[j][:1] == "'" else rec[j]) if j < len(rec) else "" for j, h in enumerate(names)}
        assert dict(raw.cells) == expected and raw.cells == expected
        assert list(raw.cells) == list(expected)
        assert raw.cells.get("no such column", "?") == "?" and "no such column" not in raw.cells
    assert plan.rows[1].cells["submission_id"] == "=1+1"
    assert plan.rows[0].cells[""] == f"v{len(header) - 1}"
