"""Prefect flows and the `jmm` command line; they wire the stages of `pipeline/`."""
