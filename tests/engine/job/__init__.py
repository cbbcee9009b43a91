"""Tests of the engine's `job` subpackage."""
