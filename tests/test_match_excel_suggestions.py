"""The suggestions for a spreadsheet-damaged code ("2.95061E+08", "12345.0") come from a run of the
sorted codes (CodeJoin._excel_suggestions); they must be exactly what the plain rule gives: every
response that may be paid whose code has the damaged code's digit count and surviving leading
digits, in source order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.match.code_join import CodeJoin
from reconcile.match.working import WorkingResponse
from reconcile.models import Response, SourceRef
from reconcile.normalize import excel_damage_prefix, normalize_code


def _response(row: int, code: str) -> Response:
    return Response(SourceRef("export.csv", row), f"R_{row}", "IP Address", "True", "100", "", "", "", "60", code, "")


def _reference(responses: list[WorkingResponse], raw: str) -> list[WorkingResponse]:
    got = excel_damage_prefix(raw)
    if got is None:
        return []
    prefix, length = got
    return sorted((r for r in responses if not r.excluded and len(r.key) == length and r.key.isdigit() and r.key.startswith(prefix)),
                  key=lambda r: r.resp.source.row)


codes = st.one_of(
    st.text("0123456789", min_size=1, max_size=9),
    st.text("0123", min_size=5, max_size=6),  # dense: many codes share a prefix
    st.text("0123456789abc\u0663\u00b2", min_size=1, max_size=7),  # letters, and digits that are not ASCII
)
damaged = st.one_of(
    st.builds(lambda lead, frac, exp: f"{lead}.{frac}E+{exp:02d}", st.sampled_from("123456789"),
              st.text("0123456789", max_size=5), st.integers(0, 9)),
    st.builds(lambda digits: f"{digits}.0", st.text("0123", min_size=1, max_size=6)),
    st.text("0123456789.E+", max_size=9),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(codes, st.booleans()), max_size=40), st.lists(damaged, min_size=1, max_size=6))
def test_suggestions_are_the_plain_rule(rows, raws):
    responses = [
        WorkingResponse(_response(i + 4, code), normalize_code(code), "survey_preview" if excluded else None, True, "", "")
        for i, (code, excluded) in enumerate(rows)
    ]
    join = CodeJoin()
    by_code: dict[str, list[WorkingResponse]] = {}
    for r in responses:
        if r.key:
            by_code.setdefault(r.key, []).append(r)
    join.by_code = by_code
    for raw in raws:  # several queries: the sorted codes are made once per length and reused
        assert join._excel_suggestions(raw) == _reference(responses, raw)
