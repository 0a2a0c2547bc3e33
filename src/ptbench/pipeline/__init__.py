"""Defining the pipeline: the generated DVC files, profiles, knob points, sweeps and the results layout."""
