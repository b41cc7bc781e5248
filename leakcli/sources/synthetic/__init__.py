"""Calibration of the synthetic dataset: aggregates of the real shop, no rows of it."""
