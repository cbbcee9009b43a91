"""``python -m flytekitplugins.openai orphans [--older-than AGE] [--delete] [--base-url URL]``: what
runs of this plugin left on an account; the command is the engine's (`openai_batch_jobs.recovery.cli`)."""

import sys

from openai_batch_jobs.recovery.cli import main

if __name__ == "__main__":
    sys.exit(main())
