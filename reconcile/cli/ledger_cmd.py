"""`reconcile ledger`."""
