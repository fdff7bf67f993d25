"""`python tests/prolific_cli.py ARGS...` runs `reconcile ARGS...` with Prolific's stand-ins in place
(prolific_pay_support.install_stand_ins: the registry line and status table that the Prolific
reading work brings)."""

from __future__ import annotations

from prolific_pay_support import install_stand_ins

install_stand_ins(register=True)

from reconcile.cli import main  # noqa: E402

main()
