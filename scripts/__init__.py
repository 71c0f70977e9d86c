"""Maintenance scripts of semcom-sim: run each from the repository root as ``python -m scripts.NAME ...``."""
