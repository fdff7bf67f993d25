"""`--bonus EXPR`: a fixed amount, a Qualtrics column, or simple arithmetic over numeric columns.

    0.50                      every approved submission gets 0.50
    score                     the value of column `score`
    score / 100 * 2           + - * / ( ) over columns and decimal literals
    max(0, (correct - 10) * 0.05)
    "Duration (in seconds)" / 600     a column name with spaces, in "..." or `...`

A tiny tokenizer and recursive-descent parser over Decimal; no eval. The result is rounded to cents,
half-up (0.125 -> 0.13); a bare fixed amount must already have at most two decimals. A blank cell
gives no bonus (flagged); text that is not a number stops with the file, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Mapping, Sequence

from .errors import InputError
from .money import MAX_AMOUNT, ZERO, AmountError, parse_amount, round_cents

_NUMBER_RE = re.compile(r"\$?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_CELL_NUMBER_RE = re.compile(r"^[+-]?\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$")
_FUNCS = ("min", "max")


class _Blank(Exception):
    """A referenced cell is empty: no bonus for this row."""

    def __init__(self, column: str) -> None:
        self.column = column


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "col", "op", "(", ")", ",", "func"
    text: str
    pos: int


def _err(expr: str, pos: int, what: str) -> InputError:
    return InputError(f"--bonus {expr!r}: {what} at character {pos + 1}.", hint="Use a number, a column name, + - * / and ( ).")


def _tokenize(expr: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c.isspace():
            i += 1
        elif c in "+-*/":
            toks.append(_Tok("op", c, i))
            i += 1
        elif c in "(),":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c in "\"`":
            end = expr.find(c, i + 1)
            if end < 0:
                raise _err(expr, i, f"unclosed {c}")
            name = expr[i + 1 : end]
            if not name:
                raise _err(expr, i, "empty column name")
            toks.append(_Tok("col", name, i))
            i = end + 1
        else:
            m = _NUMBER_RE.match(expr, i)
            if m and m.group(0) != "$":
                toks.append(_Tok("num", m.group(0).lstrip("$"), i))
                i = m.end()
                continue
            m = _IDENT_RE.match(expr, i)
            if m:
                word = m.group(0)
                j = m.end()
                while j < len(expr) and expr[j].isspace():
                    j += 1
                kind = "func" if word.lower() in _FUNCS and j < len(expr) and expr[j] == "(" else "col"
                toks.append(_Tok(kind, word.lower() if kind == "func" else word, i))
                i = m.end()
                continue
            raise _err(expr, i, f"unexpected {c!r}")
    return toks


# AST nodes as tuples: ("num", Decimal) | ("col", name) | ("neg", node) | (op, left, right) | ("min"/"max", a, b)
_Node = tuple


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.toks = _tokenize(expr)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        t = self.peek()
        if t is None:
            raise _err(self.expr, len(self.expr), "the expression ends too early")
        if (kind and t.kind != kind) or (text and t.text != text):
            raise _err(self.expr, t.pos, f"unexpected {t.text!r}")
        self.i += 1
        return t

    def parse(self) -> _Node:
        if not self.toks:
            raise InputError("--bonus is empty.", hint="Give an amount such as 0.50 or a column name.")
        node = self.expr_()
        t = self.peek()
        if t is not None:
            raise _err(self.expr, t.pos, f"unexpected {t.text!r}")
        return node

    def expr_(self) -> _Node:
        node = self.term()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in "+-":
            self.i += 1
            node = (t.text, node, self.term())
        return node

    def term(self) -> _Node:
        node = self.factor()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in "*/":
            self.i += 1
            node = (t.text, node, self.factor())
        return node

    def factor(self) -> _Node:
        t = self.take()
        if t.kind == "op" and t.text in "+-":
            inner = self.factor()
            return ("neg", inner) if t.text == "-" else inner
        if t.kind == "num":
            return ("num", Decimal(t.text))
        if t.kind == "col":
            return ("col", t.text)
        if t.kind == "(":
            node = self.expr_()
            self.take(")")
            return node
        if t.kind == "func":
            self.take("(")
            a = self.expr_()
            self.take(",")
            b = self.expr_()
            self.take(")")
            return (t.text, a, b)
        raise _err(self.expr, t.pos, f"unexpected {t.text!r}")


def _columns(node: _Node) -> list[str]:
    if node[0] == "col":
        return [node[1]]
    if node[0] == "num":
        return []
    return [c for child in node[1:] for c in _columns(child)]


def parse_cell_number(text: str) -> Decimal | None:
    """A numeric cell as Decimal ("12", "0.5", "$1.50", "1,234"); None for blank; ValueError otherwise."""
    t = text.strip()
    if t.isdigit() and t.isascii():
        return Decimal(t)
    if not t:
        return None
    if not _CELL_NUMBER_RE.match(t) or not any(ch.isdigit() for ch in t):
        raise ValueError(t)
    return Decimal(t.replace("$", "").replace(",", ""))


@dataclass(frozen=True)
class BonusExpr:
    """A parsed --bonus expression. `evaluate` gives the exact Decimal; `amount` the rounded one."""

    text: str
    tree: _Node
    fixed: Decimal | None  # the amount when EXPR is a plain number

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_columns(self.tree)))

    def check_columns(self, available: Sequence[str], where: str) -> None:
        """Raise InputError when the expression names a column the export does not have."""
        have = set(available)
        missing = [c for c in self.columns if c not in have]
        if missing:
            lower = {a.lower(): a for a in available}
            near = [lower[m.lower()] for m in missing if m.lower() in lower]
            hint = f"Did you mean {', '.join(repr(n) for n in near)}?" if near else "Column names are case-sensitive; quote names with spaces in \"...\"."
            raise InputError(
                f"--bonus {self.text!r}: {where} has no column {', '.join(repr(m) for m in missing)}.", hint=hint
            )

    def evaluate(self, values: Mapping[str, str], where: str) -> Decimal | None:
        """The exact value for one response (None when a referenced cell is blank).

        `where` names the row for error messages, e.g. "export.csv row 12".
        """
        if self.fixed is not None:
            return self.fixed

        def ev(node: _Node) -> Decimal:
            op = node[0]
            if op == "num":
                return node[1]
            if op == "col":
                raw = values.get(node[1], "")
                try:
                    v = parse_cell_number(raw)
                except ValueError:
                    raise InputError(
                        f"{where}, column {node[1]!r}: {raw!r} is not a number, so --bonus {self.text!r} cannot be computed."
                    ) from None
                if v is None:
                    raise _Blank(node[1])
                return v
            if op == "neg":
                return -ev(node[1])
            a, b = ev(node[1]), ev(node[2])
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                if b == 0:
                    raise InputError(f"{where}: --bonus {self.text!r} divides by zero.")
                return a / b
            if op == "min":
                return min(a, b)
            return max(a, b)

        try:
            return ev(self.tree)
        except _Blank:
            return None
        except (InvalidOperation, DivisionByZero, Overflow):
            raise InputError(f"{where}: --bonus {self.text!r} cannot be computed (the numbers are out of range).") from None

    def blank_column(self, values: Mapping[str, str]) -> str | None:
        """The first referenced column that is blank in `values` (to say why there is no bonus)."""
        for c in self.columns:
            if not values.get(c, "").strip():
                return c
        return None


def parse_bonus(expr: str, columns: Sequence[str] = ()) -> BonusExpr:
    """Parse --bonus. A whole expression equal to a column name (even with spaces) is that column."""
    text = expr.strip()
    if text in columns and not _NUMBER_RE.fullmatch(text):
        return BonusExpr(expr, ("col", text), None)
    if _NUMBER_RE.fullmatch(text):
        try:
            amount = parse_amount(text)
        except AmountError as exc:
            raise InputError(f"--bonus: {exc}.") from None
        return BonusExpr(expr, ("num", amount), amount)
    return BonusExpr(expr, _Parser(expr).parse(), None)


def parse_max_bonus(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise InputError(f"--max-bonus: {exc}.") from None


@dataclass(frozen=True)
class BonusResult:
    amount: Decimal | None  # rounded to cents, capped; None for no bonus
    flags: tuple[str, ...] = ()
    note: str = ""  # a sentence for the plan's detail ("" when nothing to say)


def compute_bonus(
    bonus: BonusExpr, values: Mapping[str, str], *, max_bonus: Decimal | None, where: str
) -> BonusResult:
    """One approved submission's bonus: evaluate, round half-up to cents, cap at max_bonus.

    A value too large to round (a cell of 1e30) is capped when there is a cap, and otherwise stops
    with the row and column: it is never rounded, and never paid."""
    exact = bonus.evaluate(values, where)
    if exact is None:
        col = bonus.blank_column(values) or "?"
        return BonusResult(None, ("bonus_blank",), f"No bonus: column {col!r} is empty for this response.")
    huge = not exact.is_finite() or abs(exact) > MAX_AMOUNT
    if huge and not (max_bonus is not None and exact > 0):
        cols = ", ".join(repr(c) for c in bonus.columns) or "(none)"
        raise InputError(
            f"{where}, column {cols}: --bonus {bonus.text!r} comes to {exact:.3E}, which is not a plausible bonus.",
            hint="Check the cell, or pass --max-bonus to cap every bonus.",
        )
    amount = exact if huge else round_cents(exact)
    if amount < 0:
        raise InputError(
            f"{where}: --bonus {bonus.text!r} gives a negative amount ({amount}).",
            hint="Wrap the expression in max(0, ...) to pay nothing in that case.",
        )
    if max_bonus is not None and amount > max_bonus:
        return BonusResult(
            max_bonus if max_bonus > 0 else None,
            ("bonus_capped",),
            f"Bonus {f'{amount:.3E}' if huge else amount} was cut to the --max-bonus of {max_bonus}.",
        )
    if amount == ZERO:
        return BonusResult(None)
    return BonusResult(amount)
