"""Serving the emulator: the HTTP application and the three ways to run it.

- `_app`: `create_app`, the ASGI application: the routes inside the middlewares, OpenAI-shaped errors.
- `_routes`: the `/v1` Files, Batch and model routes, and the `/_emulator` control routes.
- `_middleware`: request ids on every answer, the API key on every `/v1` call.
- `_runtime`: `Runtime`, the state one served emulator holds (data, files, batches, settings, faults).
- `emulator`: `Emulator`, the server in a background thread, for tests and notebooks.
- `cli`: the `openai-batch-emulator` / `openai-batch-server` command.
- `pytest_plugin`: the `emulator`, `openai_client` and `async_openai_client` fixtures.
"""
