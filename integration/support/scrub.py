"""Scrubbing of secrets and volatile values, applied to every interaction before it is written.

A cassette is committed to git, so whatever reaches it is public: request headers are kept only when
they are known to be harmless, response headers lose everything that identifies an account or a
request, and bodies lose anything shaped like a key. The same patterns back the check that
committed cassettes are clean (``find_leaks``), so a scrubbing gap fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

# Where recordings against a local emulator claim to have gone; `.invalid` never resolves (RFC 2606).
EMULATOR_ORIGIN = "http://emulator.invalid"
OPENAI_ORIGIN = "https://api.openai.com"

# Request headers worth keeping: they explain the request and can hold no secret. Everything else
# (Authorization, OpenAI-Organization, OpenAI-Project, cookies, machine fingerprints) is dropped.
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept", "x-stainless-retry-count"})
# Response headers that identify an account, a project or a request, or carry cookies...
IDENTIFYING_HEADERS = frozenset(
    {"set-cookie", "openai-organization", "openai-project", "x-request-id", "request-id"}
)
# ...and those that only describe OpenAI's edge.
DROPPED_RESPONSE_HEADERS = IDENTIFYING_HEADERS | {"cf-ray", "alt-svc", "strict-transport-security"}
# What no committed cassette may carry, in a request or a response.
FORBIDDEN_HEADERS = IDENTIFYING_HEADERS | {"authorization", "cookie"}

KEY_PLACEHOLDER = "<redacted-key>"

# Key-like strings; the look-behind keeps words such as "task-1" or "risk-free" out of it.
LEAK_PATTERNS: dict[str, re.Pattern[str]] = {
    "bearer token": re.compile(r"(?i)bearer\s+(?!<redacted>)[A-Za-z0-9._~+/=\-]+"),
    "sk- key": re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{4,}"),
    "organization id": re.compile(r"(?<![A-Za-z0-9])org-[A-Za-z0-9]{8,}"),
    "project id": re.compile(r"(?<![A-Za-z0-9])proj_[A-Za-z0-9]{8,}"),
}
LOOPBACK_ORIGIN = re.compile(r"https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?")
_REPLACEMENTS = {
    "bearer token": "Bearer <redacted>",
    "sk- key": KEY_PLACEHOLDER,
    "organization id": "<redacted-org>",
    "project id": "<redacted-project>",
}


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace the given secrets, key-like strings and loopback origins in `text`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, KEY_PLACEHOLDER)
    for what, pattern in LEAK_PATTERNS.items():
        text = pattern.sub(_REPLACEMENTS[what], text)
    return LOOPBACK_ORIGIN.sub(EMULATOR_ORIGIN, text)


def scrub_body(body: Any, secrets: Iterable[str] = ()) -> Any:
    """Scrub a body that may be bytes (JSON, JSONL, multipart) or text; binary bodies pass through."""
    if isinstance(body, str):
        return scrub_text(body, secrets)
    if isinstance(body, (bytes, bytearray)):
        try:
            return scrub_text(bytes(body).decode("utf-8"), secrets).encode("utf-8")
        except UnicodeDecodeError:
            return body
    return body


def request_scrubber(secrets: Iterable[str] = ()) -> Callable[[Any], Any]:
    """A vcrpy ``before_record_request`` hook: keep harmless headers, rewrite the origin, scrub the body.

    vcrpy also runs it on each live request before matching, so a live request to the emulator on
    127.0.0.1 matches its recording at ``EMULATOR_ORIGIN``.
    """
    known = tuple(secrets)

    def before_record_request(request: Any) -> Any:
        request.uri = scrub_text(request.uri, known)
        request.headers = {k: v for k, v in request.headers.items() if k.lower() in KEPT_REQUEST_HEADERS}
        request.body = scrub_body(request.body, known)
        return request

    return before_record_request


def response_scrubber(secrets: Iterable[str] = ()) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A vcrpy ``before_record_response`` hook: drop identifying headers, scrub the body and header values."""
    known = tuple(secrets)

    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        body = scrub_body(response["body"]["string"], known)
        headers = {
            name: [scrub_text(str(v), known) for v in values]
            for name, values in response["headers"].items()
            if name.lower() not in DROPPED_RESPONSE_HEADERS
        }
        for name in headers:
            # The body may have shrunk or grown; keep the declared length true.
            if name.lower() == "content-length" and isinstance(body, (bytes, bytearray)):
                headers[name] = [str(len(body))]
        response["headers"] = headers
        response["body"]["string"] = body
        return response

    return before_record_response


def find_leaks(text: str) -> list[str]:
    """What `text` (a serialized cassette) still holds that it must not, with the offending snippet."""
    found = [
        f"{what}: {match.group(0)[:12]}..."
        for what, pattern in LEAK_PATTERNS.items()
        if (match := pattern.search(text))
    ]
    if match := LOOPBACK_ORIGIN.search(text):
        found.append(f"loopback address: {match.group(0)}")
    return found
