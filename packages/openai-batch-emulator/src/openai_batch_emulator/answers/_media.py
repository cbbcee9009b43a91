"""Deterministic answers for the Batch API's image and video endpoints: `/v1/images/generations`,
`/v1/images/edits` (the SDK's `ImagesResponse`) and `/v1/videos` (the SDK's `Video`).

An image is a tiny PNG whose one pixel's colour comes from a hash of the model and prompt, returned as
`b64_json` (a batch has nowhere to host a URL); its usage counts the prompt's tokens in and a fixed
number out per image. A video is the job OpenAI's endpoint returns (`status` "queued"): the batch
answers with the created job, not its rendering, as the real endpoint does.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from .prompts import media_prompt
from .reply import Context, Reply, client_error, digest, missing

# What one generated image "costs" in output tokens (gpt-image-1 bills a 1024x1024 low-quality image ~272).
IMAGE_OUTPUT_TOKENS = 272
# The first size of each is what a request without `size` gets.
IMAGE_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512", "1792x1024", "1024x1792")
VIDEO_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
VIDEO_SECONDS = ("4", "8", "12")


def _unsupported(value: str, supported: tuple[str, ...], param: str) -> Reply:
    listed = ", ".join(supported)
    return client_error(
        f"Invalid value: '{value}'. Supported values are: {listed}.", param=param, code="invalid_value"
    )


def _png(hex_digest: str) -> str:
    """A 1x1 PNG of the colour the digest names, base64 encoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = bytes.fromhex(hex_digest[:6])
    raw = b"\x00" + pixel
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


def _prompt_and_size(body: dict[str, Any], sizes: tuple[str, ...]) -> tuple[str, str] | Reply:
    """The request's prompt and size (the first of `sizes` by default), or the error they make."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return missing("prompt")
    size = body.get("size", sizes[0])
    if size not in sizes:
        return _unsupported(size, sizes, "size")
    return prompt, size


def image(body: dict[str, Any], ctx: Context) -> Reply:
    """An `ImagesResponse` for a generation or an edit."""
    checked = _prompt_and_size(body, IMAGE_SIZES)
    if isinstance(checked, Reply):
        return checked
    prompt, size = checked
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        return client_error(
            "Invalid 'n': an integer from 1 to 10 is expected.", param="n", code="invalid_value"
        )
    output = IMAGE_OUTPUT_TOKENS * n
    prompt_count = media_prompt(body)
    answer = {
        "created": ctx.created,
        "data": [{"b64_json": _png(digest(str(body["model"]), prompt, str(i)))} for i in range(n)],
        "size": "1024x1024" if size == "auto" else size,
        "output_format": "png",
        "usage": {
            "input_tokens": prompt_count,
            "input_tokens_details": {"text_tokens": prompt_count, "image_tokens": 0},
            "output_tokens": output,
            "total_tokens": prompt_count + output,
        },
    }
    return Reply(200, answer, prompt_count, output)


def video(body: dict[str, Any], ctx: Context) -> Reply:
    """The `Video` job that creating one returns."""
    checked = _prompt_and_size(body, VIDEO_SIZES)
    if isinstance(checked, Reply):
        return checked
    prompt, size = checked
    seconds = str(body.get("seconds", "4"))
    if seconds not in VIDEO_SECONDS:
        return _unsupported(seconds, VIDEO_SECONDS, "seconds")
    answer = {
        "id": "video_" + ctx.seed[:32],
        "object": "video",
        "model": body["model"],
        "status": "queued",
        "progress": 0,
        "created_at": ctx.created,
        "completed_at": None,
        "expires_at": None,
        "error": None,
        "prompt": prompt,
        "remixed_from_video_id": None,
        "seconds": seconds,
        "size": size,
    }
    return Reply(200, answer, media_prompt(body), 0)
