"""Serving the emulator: the HTTP application and the three ways to run it.

- `app`: the ASGI application (OpenAI's `/v1` routes, the `/_emulator` control routes) and its `Runtime`.
- `emulator`: `Emulator`, the server in a background thread, for tests and notebooks.
- `cli`: the `openai-batch-emulator` / `openai-batch-server` command.
- `pytest_plugin`: the `emulator`, `openai_client` and `async_openai_client` fixtures.
"""
