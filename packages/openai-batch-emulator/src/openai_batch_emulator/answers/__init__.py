"""The made-up model answers: deterministic, shaped as the SDK's types.

- `responders`: one responder per endpoint, and the prompt-token estimate.
- `_media`: the image and video endpoints' answers.
- `inference`: the synchronous endpoints (`POST /v1/chat/completions`, ...) served with the same responders.
"""
