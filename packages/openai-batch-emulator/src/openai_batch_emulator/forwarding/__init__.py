"""Forwarding mode: batches answered by an OpenAI-compatible server instead of made up.

- `options`: `ForwardOptions`, where and how fast to forward; the upstream key's variable.
- `forwarder`: the event loop thread running one job per forwarded batch, as the engine sees it.
- `_job`: one forwarded batch being sent, with retries of transient failures.
- `_progress`: what a forwarded batch's result files say is answered, read back after a restart.
- `upstream`: the keep-alive HTTP/1.1 client to the upstream server.
"""
