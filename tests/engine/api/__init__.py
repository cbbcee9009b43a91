"""Tests of the engine's `api` subpackage."""
