"""Plots in tests and doctests draw off-screen."""

import matplotlib

matplotlib.use("Agg")
