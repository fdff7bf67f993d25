"""Building many frozen records fast. Imports nothing of ours, so every layer may use it
(the importers, and the pure matcher and plan builder).
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Callable


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic GC while building hundreds of thousands of acyclic records (importers,
    matcher, plan). Left on, it rescans every record built so far again and again; nothing built
    there makes reference cycles. Nests: an inner pause leaves an outer one in force.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def frozen_record(cls, **fields):
    """An instance of the frozen dataclass `cls` from all of its fields, without the generated __init__.

    That __init__ sets each field through object.__setattr__ (a frozen class forbids setting
    attributes plainly): ~2 microseconds for a 16-field PlanRow, a fifth of a second per 100k records.
    A slotted class (the per-row models) is filled through its slots' own setters by a function
    made once per class; a plain one by filling __dict__ directly. Either gives the same object
    (fields, equality, hash, repr) as the __init__ would. Only for plain frozen dataclasses (no
    __post_init__).
    """
    assert fields.keys() == cls.__dataclass_fields__.keys(), f"{cls.__name__} needs every field"
    make = _MAKERS.get(cls)
    if make is None:
        make = _MAKERS[cls] = _maker(cls)
    return make(**fields)


def record_maker(cls) -> Callable[..., Any]:
    """frozen_record for one slotted class, called with every field positionally in field order: for
    the loops that build a million records, where the keyword dict and its check were a third of the cost."""
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not slotted (use frozen_record)")
    make = _POSITIONAL.get(cls)
    if make is None:
        make = _POSITIONAL[cls] = _maker(cls, positional=True)
    return make


def one_field_copier(cls, name: str) -> Callable[[Any, Any], Any]:
    """(record, value) -> a copy of a slotted `record` with field `name` set to `value`: each other slot
    copied by a line of its own (no keyword dict or per-field lookup, as `replaced` needs), for loops
    that change one field of a million records."""
    key = (cls, name)
    copy = _ONE_FIELD.get(key)
    if copy is None:
        names = tuple(cls.__dataclass_fields__)
        if "__slots__" not in cls.__dict__ or name not in names:
            raise TypeError(f"{cls.__name__} is not slotted or has no field {name!r}")
        env: dict[str, Any] = {"new": object.__new__, "cls": cls}
        lines = ["def copy(old, value):", "    obj = new(cls)"]
        for i, field in enumerate(names):
            env[f"set{i}"] = cls.__dict__[field].__set__
            lines.append(f"    set{i}(obj, {'value' if field == name else 'old.' + field})")
        lines.append("    return obj")
        exec("\n".join(lines), env)
        copy = _ONE_FIELD[key] = env["copy"]
    return copy


def record_fields(record) -> dict:
    """Every field of a dataclass record by name (a slotted record has no __dict__ to copy)."""
    names = _NAMES.get(type(record))
    if names is None:
        names = _NAMES[type(record)] = tuple(type(record).__dataclass_fields__)
    return {name: getattr(record, name) for name in names}


def replaced(record, **changes):
    """`record` with some fields changed, like dataclasses.replace (which re-reads every field and
    runs the frozen __init__): for a slotted record a function made once per class copies the
    other fields slot to slot, with no dict of every field per call."""
    cls = type(record)
    if "__slots__" not in cls.__dict__:
        return frozen_record(cls, **{**record_fields(record), **changes})
    copy = _REPLACERS.get(cls)
    if copy is None:
        copy = _REPLACERS[cls] = _replacer(cls)
    return copy(record, changes)


_MAKERS: dict[type, Callable[..., Any]] = {}
_POSITIONAL: dict[type, Callable[..., Any]] = {}
_REPLACERS: dict[type, Callable[..., Any]] = {}
_ONE_FIELD: dict[tuple[type, str], Callable[..., Any]] = {}
_NAMES: dict[type, tuple[str, ...]] = {}
_UNCHANGED: Any = object()


def _replacer(cls) -> Callable[..., Any]:
    names = tuple(cls.__dataclass_fields__)
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "unchanged": _UNCHANGED}
    lines = ["def copy(old, changes):", "    obj = new(cls)", "    take = changes.pop"]
    for i, name in enumerate(names):
        env[f"set{i}"] = cls.__dict__[name].__set__
        lines.append(f"    v = take({name!r}, unchanged)")
        lines.append(f"    set{i}(obj, old.{name} if v is unchanged else v)")
    lines += ["    if changes:", "        raise TypeError(f'{cls.__name__} has no field(s) {sorted(changes)}')", "    return obj"]
    exec("\n".join(lines), env)
    return env["copy"]


def _maker(cls, *, positional: bool = False) -> Callable[..., Any]:
    names = tuple(cls.__dataclass_fields__)
    new = object.__new__
    if "__slots__" not in cls.__dict__:
        def fill(**fields):
            obj = new(cls)
            obj.__dict__.update(fields)
            return obj

        return fill
    # One keyword parameter per field (dataclass field names are identifiers), each set through the
    # slot's member descriptor: no per-call loop, no frozen __setattr__ check.
    env: dict[str, Any] = {"new": new, "cls": cls}
    lines = [f"def make({'' if positional else '*, '}{', '.join(names)}):", "    obj = new(cls)"]
    for i, name in enumerate(names):
        env[f"set{i}"] = cls.__dict__[name].__set__
        lines.append(f"    set{i}(obj, {name})")
    lines.append("    return obj")
    exec("\n".join(lines), env)
    return env["make"]
