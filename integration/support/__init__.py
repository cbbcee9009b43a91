"""What the integration suites add to pytest-recording (scrubbing, body matching, compaction, replay checks)."""
