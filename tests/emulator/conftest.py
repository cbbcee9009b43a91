"""The emulator tests use the fixtures of the package's own pytest plugin (`emulator`, `openai_client`)."""

from __future__ import annotations
