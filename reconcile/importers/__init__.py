"""Importers: read Qualtrics exports and MTurk batch results into frozen records.

Public API (stable; other modules rely on it):

    sniff_kind(path) -> "qualtrics" | "mturk"          (raises InputError for anything else)
    read_qualtrics(path, *, code_column=None, worker_column=None) -> QualtricsExport
    read_mturk(paths, *, code_column=None, worker_column=None) -> MTurkInput
    inspect_file(path) -> dict                          (what `reconcile inspect --json` prints per file)

read_* never fail because a column could not be detected; they leave code_column / worker_column
None and list candidates. `require_columns(...)` is for commands that need them (match) and
raises ColumnDetectionError with a sentence listing candidate columns.
"""
