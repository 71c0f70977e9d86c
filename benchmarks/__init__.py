"""Benchmarks of semcom-sim, run from the repository root as ``python -m benchmarks.NAME [SCENARIO] [RUN_DIR] ...``."""
