"""Warnings that know what they are about, so one fact is said once.

Several stages can see the same thing: the reader of a file notices codes that Excel turned into
`1.23457E+11`, and the matcher notices them again when it compares codes. Each says so as a
`Notice`: the sentence a person reads (it *is* a str, so every writer of warnings keeps working)
plus `kind` (what was seen) and `subject` (the file it was seen in). `once_each` keeps the first
notice of each (kind, subject) and every plain sentence once. Base module: imports nothing of ours.
"""

from __future__ import annotations

from typing import Iterable

DAMAGED_CODES = "damaged_codes"  # codes converted by a spreadsheet or pandas (1.23457E+11, 12345.0)


class Notice(str):
    """A warning sentence with the fact it reports: `kind` and `subject` (usually a file path)."""

    kind: str
    subject: str

    def __new__(cls, text: str, *, kind: str, subject: str) -> "Notice":
        self = super().__new__(cls, text)
        self.kind = kind
        self.subject = subject
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.subject)

    def __reduce__(self):  # pickling (multiprocessing) keeps the structure
        return (_rebuild, (str(self), self.kind, self.subject))


def _rebuild(text: str, kind: str, subject: str) -> Notice:
    return Notice(text, kind=kind, subject=subject)


def relabel(warning: str, old: str, new: str) -> str:
    """`warning` with the file name `old` replaced by `new` (a temporary download named as the
    user knows it), keeping what a Notice is about."""
    text = warning.replace(old, new)
    if isinstance(warning, Notice):
        return Notice(text, kind=warning.kind, subject=new if warning.subject == old else warning.subject)
    return text


def once_each(warnings: Iterable[str]) -> tuple[str, ...]:
    """The warnings in order, each fact once: the first Notice of each (kind, subject), and each
    plain sentence the first time it occurs."""
    seen: set = set()
    kept: list[str] = []
    for w in warnings:
        key = w.key if isinstance(w, Notice) else ("", str(w))
        if key in seen:
            continue
        seen.add(key)
        kept.append(w)
    return tuple(kept)
