"""Domain rules with no I/O beyond reading packaged reference data."""
