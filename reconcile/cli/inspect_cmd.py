"""`reconcile inspect`."""
