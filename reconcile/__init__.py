"""reconcile: close out a paid online study: a Qualtrics survey and its crowd-work platform.

Import both sides, join them (on completion codes or participant IDs), decide every submission,
show the plan to the PI, then pay exactly once.

In a notebook (see reconcile.notebook):

    import reconcile
    r = reconcile.match(qualtrics="export.csv", prolific=["prolific_export.csv"])
    r.plan_frame()
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `reconcile.match` is the matcher package, callable as the notebook API (see the end of
    # reconcile/match/__init__.py). Imported on first use, so `import reconcile` stays cheap for the CLI.
    if name == "match":
        import importlib

        return importlib.import_module(".match", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
