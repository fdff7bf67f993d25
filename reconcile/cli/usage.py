"""Usage lines and argument help as a new user expects them: `reconcile pay [OPTIONS] PLAN`.

This typer writes a required argument as `{PLAN}` in usage lines (and `[[PLAN]]` for an optional
one whose metavar already has brackets), and adds the Python type after every argument in the help
(`FILE <list[Path]>`). Neither means anything to a researcher. `plain_arguments` gives a command's
arguments click's own convention instead: `PLAN` when required, `[PLAN]` when optional, `FILE...`
when repeatable, and no type after an argument that has a metavar (the metavar says it).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument


class PlainArgument(TyperArgument):
    """A TyperArgument shown the way click shows arguments."""

    def _usage_display_name(self) -> str:
        name = self._rich_display_name()
        return name if self.required else f"[{name}]"

    def _rich_display_name(self) -> str:
        name = self.display_name_raw.strip("[]")
        return name + "..." if self.nargs != 1 and not name.endswith("...") else name

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar is not None else super().display_type_rich(ctx)


def plain_arguments(command: Any) -> Any:
    """`command` with its typer arguments shown as PlainArgument (the same objects, a subclass
    that only changes how they are displayed; parsing is untouched)."""
    for param in getattr(command, "params", ()):
        if type(param) is TyperArgument:
            param.__class__ = PlainArgument
    return command
