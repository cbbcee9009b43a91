"""The recording and replaying machinery of the integration suites (vcrpy cassettes, scrubbing, guards)."""
