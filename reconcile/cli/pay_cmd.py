"""`reconcile pay`."""
