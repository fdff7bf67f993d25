"""reconcile: close out a paid online study: a Qualtrics survey and its crowd-work platform.

Import both sides, join them (on completion codes or participant IDs), decide every submission,
show the plan to the PI, then pay exactly once.
"""

__version__ = "0.1.0"
