"""Benchmarks of the generation engine and the pages, against real processes.

`python -m bench.generation` (or `make bench`) runs the scenarios of BENCHMARKS.md;
`python -m bench.generation --smoke` is the few-second version that CI runs.
"""
