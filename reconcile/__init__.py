"""reconcile: close out a paid Qualtrics + MTurk study.

Import both sides, join them on completion codes, decide every assignment,
show the plan to the PI, then pay exactly once.
"""

__version__ = "0.1.0"
