"""`python -m openai_batch_emulator` is the `openai-batch-emulator` command."""

from .server.cli import main

main()
