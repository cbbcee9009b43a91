"""Tests of the engine's `results` subpackage."""
