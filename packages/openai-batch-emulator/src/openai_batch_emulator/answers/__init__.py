"""The made-up model answers: deterministic, shaped as the SDK's types.

- `responders`: `respond` and `RESPONDERS`, one responder per endpoint, behind the model check.
- `reply`: what a responder gets (`Context`) and gives (`Reply`), and its error replies.
- `prompts`: a request's texts and its estimated prompt tokens (`prompt_tokens`).
- `_text`: chat completions, completions and responses, which echo the input.
- `vectors`: embeddings and moderations, numbers derived from a hash of the input.
- `_media`: images (a one-pixel PNG) and videos (the queued job).
- `inference`: the synchronous endpoints (`POST /v1/chat/completions`, ...) served with the same responders.
"""
