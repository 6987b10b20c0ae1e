"""Notebooks that compare the systems of a campaign (jupytext percent format), and their runner."""
