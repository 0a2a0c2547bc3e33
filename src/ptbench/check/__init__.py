"""Checking results: re-running cached cells, scoring outside predictions, regression against the committed smoke, parameter counts."""
