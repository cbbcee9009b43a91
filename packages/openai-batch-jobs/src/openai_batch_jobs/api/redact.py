"""Masking API keys in text that may be shown to people: logs, exceptions, task messages.

Servers and proxies echo keys in error bodies, so besides the key in hand, anything shaped like an
OpenAI key or a bearer token is masked too.
"""

from __future__ import annotations

import re

# OpenAI keys (sk-..., sk-proj-..., sk-svcacct-...) and bearer tokens, whoever's they are.
# The first characters of a key are kept to tell keys apart.
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]+")
_BEARER_PATTERN = re.compile(r"(\bBearer\s+[\"']?)[^\s\"',;]+", re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """Remove ``secret`` and anything shaped like an API key from text that may be shown to people."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    text = _BEARER_PATTERN.sub(r"\1***", text)
    return _KEY_PATTERN.sub(r"\1***", text)
