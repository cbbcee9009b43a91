"""Helpers shared by the test suites: built wheels, clean venvs, subprocess plumbing."""
