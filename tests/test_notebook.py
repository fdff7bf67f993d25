"""The notebook API: reconcile.match(qualtrics=..., mturk=[...]) gives the plan `reconcile match` writes, as
DataFrames with IDs and codes as strings and money as Decimal (never float); pandas is imported only there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal

import pandas as pd
import pytest

import reconcile
from conftest import SAMPLE_DATA, run_cli
from reconcile.errors import InputError

BONUS = ("score / 100 * 1.25", "1.10")


@pytest.fixture
def study(tmp_path, monkeypatch):
    for name in ("qualtrics_export.csv", "mturk_batch_results.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECONCILE_NOW", "2036-03-06T16:00:00Z")
    return tmp_path


def test_plan_frame_is_the_plan_csv(study):
    before = sorted(os.listdir(study))
    r = reconcile.match(qualtrics="qualtrics_export.csv", mturk=["mturk_batch_results.csv"], bonus=BONUS[0], max_bonus=BONUS[1])
    assert sorted(os.listdir(study)) == before  # writes nothing
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", "--bonus", BONUS[0],
                "--max-bonus", BONUS[1], cwd=study, env={"RECONCILE_NOW": "2036-03-06T16:00:00Z"})
    assert m.returncode == 0, m.stderr
    want = pd.read_csv(study / "reconcile-plan.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    got = r.plan_frame()
    assert list(got.columns) == list(want.columns)
    assert not any(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t) for t in got.dtypes)
    for col in want.columns:
        if col == "bonus":
            assert [("" if b is None else f"{b:.2f}") for b in got[col]] == list(want[col])
            assert all(b is None or isinstance(b, Decimal) for b in got[col])
        elif col == "flags":
            assert [";".join(f) for f in got[col]] == list(want[col])
        else:
            assert list(got[col]) == list(want[col]), col
            assert all(isinstance(v, str) for v in got[col])
    assert sum(b for b in got["bonus"] if b is not None) > 0
    assert r.decisions == dict(zip(want["assignment_id"], want["decision"]))

    responses = r.responses_frame()
    want_r = pd.read_csv(study / "reconcile-plan.responses.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert responses.astype(object).values.tolist() == want_r.values.tolist()
    assert list(responses.columns) == list(want_r.columns)


def test_write_plan_and_workbook_are_pay_ready(study):
    r = reconcile.match(qualtrics="qualtrics_export.csv", mturk="mturk_batch_results.csv")
    r.write_plan("nb-plan.csv")
    r.write_workbook("nb-report.xlsx")
    a = run_cli("pay", "nb-plan.csv", "--json", cwd=study)
    b = run_cli("pay", "nb-report.xlsx", "--json", cwd=study)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    import json

    assert json.loads(a.stdout)["digest"] == json.loads(b.stdout)["digest"]


def test_the_matcher_package_is_still_there():
    import reconcile.match as matcher
    from reconcile.match import match as pure_match

    assert matcher is reconcile.match and matcher.match is pure_match and callable(matcher)
    assert pure_match.__module__ == "reconcile.match"


def test_errors_are_one_sentence(study):
    with pytest.raises(InputError, match="mturk=.*prolific="):
        reconcile.match(qualtrics="qualtrics_export.csv")
    with pytest.raises(InputError, match="no such file"):
        reconcile.match(qualtrics="missing.csv", mturk=["mturk_batch_results.csv"])


def test_pandas_is_imported_only_by_the_frames():
    code = ("import sys, reconcile, reconcile.cli, reconcile.study, reconcile.payment, reconcile.report; "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
