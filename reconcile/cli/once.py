"""A single-value option given twice is refused, for every command, in one place.

Click (under typer) keeps the last value of an option like `--qualtrics a --qualtrics b` and drops
the first without a word: the user meant one of them and cannot tell which one was used. `OnceGroup`
is the group class of every typer app here; before a subcommand parses its arguments, the group
looks at them with the subcommand's own option table and refuses any single-value option given more
than once. Options declared as lists (`--mturk`, `--batch`, ...) may repeat. Flags (`--json`,
`--yes`, `--use-labels/--no-use-labels`) are left to click: repeating a flag changes nothing, and
for an on/off pair the last one wins, as click documents.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from typer.core import TyperGroup

from ..errors import InputError
from .usage import plain_arguments

# Values of these options are never echoed (house rule: never print credentials or tokens).
_SECRET = re.compile(r"token|secret|password|credential|key", re.IGNORECASE)


def _takes_value(param: Any) -> bool:
    return not (getattr(param, "is_flag", False) or getattr(param, "count", False))


def repeated_options(params: Sequence[Any], args: Sequence[str]) -> list[tuple[Any, list[str]]]:
    """The single-value options of `params` that `args` gives more than once, with their values.

    Reads `args` the way click's parser does: `--opt value`, `--opt=value`, `-o value`, `-ovalue`,
    grouped short flags, and `--` ending the options. A token after an option that takes a value is
    that value, whatever it looks like. Unknown options are skipped (click reports them itself).
    """
    by_name: dict[str, Any] = {}
    for p in params:
        if getattr(p, "param_type_name", "") == "option":
            for name in (*p.opts, *getattr(p, "secondary_opts", ())):
                by_name[name] = p
    given: dict[int, tuple[Any, list[str]]] = {}

    def note(param: Any, value: str) -> None:
        given.setdefault(id(param), (param, []))[1].append(value)

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        name, eq, inline = arg.partition("=")
        param = by_name.get(name)
        if param is not None:
            if _takes_value(param):
                if not eq:
                    if i == len(args):
                        break  # no value at all: click says so itself
                    inline, i = args[i], i + 1
                note(param, inline)
            continue
        if arg.startswith("--"):
            continue
        # Short options: "-o value", "-ovalue", or grouped flags such as "-xy".
        for j in range(1, len(arg)):
            param = by_name.get("-" + arg[j])
            if param is None:
                break
            if _takes_value(param):
                value = arg[j + 1:]
                if not value:
                    if i == len(args):
                        break
                    value, i = args[i], i + 1
                note(param, value)
                break
    return [
        (param, values)
        for param, values in given.values()
        if len(values) > 1 and not getattr(param, "multiple", False) and _takes_value(param)
    ]


def refuse_repeated_options(params: Sequence[Any], args: Sequence[str]) -> None:
    """InputError naming the first single-value option given more than once, and its values."""
    for param, values in repeated_options(params, args):
        option = "/".join(param.opts)
        times = "twice" if len(values) == 2 else f"{len(values)} times"
        shown = "values not shown" if _SECRET.search(param.name or "") else ", ".join(values)
        raise InputError(f"{option} was given {times} ({shown}); give it once.")


class OnceGroup(TyperGroup):
    """The typer group class of every app of the CLI: checks a subcommand's arguments for repeated
    single-value options before the subcommand parses them (and silently keeps the last)."""

    def get_command(self, ctx, cmd_name):  # type: ignore[no-untyped-def]
        # Every subcommand's arguments read as click writes them (PLAN, not {PLAN}): see usage.py.
        return plain_arguments(super().get_command(ctx, cmd_name))

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        cmd_name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not ctx.resilient_parsing:
            refuse_repeated_options(cmd.params, rest)
        return cmd_name, cmd, rest

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        # typer turns Ctrl-C into a silent exit 130; say what it means. (A payout in progress
        # prints its own summary of what was done before this is reached.)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            import typer

            typer.echo("interrupted; nothing after the last completed step was done.", err=True)
            raise typer.Exit(130) from None
