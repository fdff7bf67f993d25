"""`reconcile emulator qualtrics`."""
