"""`reconcile emulator`."""
