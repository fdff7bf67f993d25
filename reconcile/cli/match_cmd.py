"""`reconcile match`."""
