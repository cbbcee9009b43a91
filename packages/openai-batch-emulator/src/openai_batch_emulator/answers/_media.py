"""Deterministic answers for the Batch API's image and video endpoints: `/v1/images/generations`,
`/v1/images/edits` (the SDK's `ImagesResponse`) and `/v1/videos` (the SDK's `Video`).

An image is a tiny PNG whose one pixel's colour comes from a hash of the model and prompt, returned as
`b64_json` (a batch has nowhere to host a URL); its usage counts the prompt's tokens in and a fixed
number out per image. A video is the job OpenAI's endpoint returns (`status` "queued"): the batch
answers with the created job, not its rendering, as the real endpoint does.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from typing import Any

from ..errors import error_body

# What one generated image "costs" in output tokens (gpt-image-1 bills a 1024x1024 low-quality image ~272).
IMAGE_OUTPUT_TOKENS = 272
IMAGE_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512", "1792x1024", "1024x1792")
VIDEO_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
VIDEO_SECONDS = ("4", "8", "12")


def _bad(message: str, param: str, code: str = "invalid_value") -> tuple[int, dict[str, Any]]:
    return 400, error_body(message, param=param, code=code)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _png(digest: str) -> str:
    """A 1x1 PNG of the colour the digest names, base64 encoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = bytes.fromhex(digest[:6])
    raw = b"\x00" + pixel
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's tokens, by the emulator's one estimate (about four characters a token)."""
    prompt = body.get("prompt")
    return (len(prompt) + 3) // 4 if isinstance(prompt, str) else 0


def image(body: dict[str, Any], created: int) -> tuple[int, dict[str, Any], int]:
    """An `ImagesResponse` for a generation or an edit: (status, body, output tokens)."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return (*_bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"), 0)
    size = body.get("size", "auto")
    if size not in IMAGE_SIZES:
        return (*_bad(f"Invalid value: '{size}'. Supported values are: {', '.join(IMAGE_SIZES)}.", "size"), 0)
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        return (*_bad("Invalid 'n': an integer from 1 to 10 is expected.", "n"), 0)
    output = IMAGE_OUTPUT_TOKENS * n
    answer = {
        "created": created,
        "data": [{"b64_json": _png(_digest(str(body["model"]), prompt, str(i)))} for i in range(n)],
        "size": "1024x1024" if size == "auto" else size,
        "output_format": "png",
        "usage": {
            "input_tokens": prompt_tokens(body),
            "input_tokens_details": {"text_tokens": prompt_tokens(body), "image_tokens": 0},
            "output_tokens": output,
            "total_tokens": prompt_tokens(body) + output,
        },
    }
    return 200, answer, output


def video(body: dict[str, Any], seed: str, created: int) -> tuple[int, dict[str, Any]]:
    """The `Video` job that creating one returns: (status, body)."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    size = body.get("size", "720x1280")
    if size not in VIDEO_SIZES:
        return _bad(f"Invalid value: '{size}'. Supported values are: {', '.join(VIDEO_SIZES)}.", "size")
    seconds = str(body.get("seconds", "4"))
    if seconds not in VIDEO_SECONDS:
        return _bad(
            f"Invalid value: '{seconds}'. Supported values are: {', '.join(VIDEO_SECONDS)}.", "seconds"
        )
    return 200, {
        "id": "video_" + seed[:32],
        "object": "video",
        "model": body["model"],
        "status": "queued",
        "progress": 0,
        "created_at": created,
        "completed_at": None,
        "expires_at": None,
        "error": None,
        "prompt": prompt,
        "remixed_from_video_id": None,
        "seconds": seconds,
        "size": size,
    }
