"""reconcile: close out a paid online study: a Qualtrics survey and its crowd-work platform.

Import both sides, join them (on completion codes or participant IDs), decide every submission,
show the plan to the PI, then pay exactly once.

In a notebook (see reconcile.notebook):

    import reconcile
    r = reconcile.match(qualtrics="export.csv", mturk=["batch.csv"])
    r.plan_frame()
"""

import types as _types

__version__ = "0.1.0"

from . import match as _matcher  # noqa: E402 - the matcher package; made callable below


class _CallableMatcher(_types.ModuleType):
    """`reconcile.match` is the matcher package (reconcile.match.match is the pure join) and, called,
    the notebook API (reconcile.notebook.match). One name for both, because a package attribute and
    a submodule of the same name cannot coexist: the import system would replace the function."""

    def __call__(self, *args, **kwargs):
        from .notebook import match

        return match(*args, **kwargs)


_matcher.__class__ = _CallableMatcher
