"""Tests of the engine's `inputs` subpackage."""
