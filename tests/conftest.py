"""Shared test setup: draw figures off screen, whatever machine runs the suite."""

import matplotlib

matplotlib.use("Agg")
