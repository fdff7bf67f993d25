"""`reconcile fetch`."""
