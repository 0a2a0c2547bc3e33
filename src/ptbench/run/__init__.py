"""Running a cell: stage scaffolding, the warm-process launcher, one experiment, transfer sources, provenance."""
