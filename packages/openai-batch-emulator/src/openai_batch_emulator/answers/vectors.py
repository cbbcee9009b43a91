"""The vector endpoints' answers: embeddings and moderations, numbers derived from the input alone.

An embedding is a unit vector seeded by a hash of the model and input (`embedding_vector`); moderation
scores come from the same kind of hash and never flag anything.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from typing import Any

from .prompts import embedding_inputs, moderation_inputs, tokens
from .reply import Context, Reply, client_error, digest, missing

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def embedding_vector(model: str, text: str, dimensions: int) -> list[float]:
    """A unit vector that depends only on (model, text, dimensions)."""
    rng = random.Random(int(digest(model, text), 16))
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 8) for x in raw]


def embeddings(body: dict[str, Any], ctx: Context) -> Reply:
    inputs = embedding_inputs(body)
    if not inputs:
        return missing("input")
    model = body["model"]
    dimensions = body.get("dimensions")
    if dimensions is None:
        dimensions = 3072 if "large" in model else 1536
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        return client_error("Invalid 'dimensions': expected a positive integer.", param="dimensions")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(inputs):
        vector = embedding_vector(model, text, dimensions)
        encoded: Any = (
            base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    prompt_count = sum(tokens(text) for text in inputs)
    return Reply(
        200,
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": prompt_count, "total_tokens": prompt_count},
        },
        prompt_count,
        0,
    )


def moderation(body: dict[str, Any], ctx: Context) -> Reply:
    inputs = moderation_inputs(body)
    if body.get("input") is None:
        return missing("input")
    results = []
    for text in inputs:
        hashed = digest(str(body.get("model")), text)
        scores = {
            name: int(hashed[i * 4 : i * 4 + 4], 16) / 65535 / 1000
            for i, name in enumerate(MODERATION_CATEGORIES)
        }
        results.append(
            {
                "flagged": False,
                "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
                "category_scores": scores,
                "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
            }
        )
    input_tokens = sum(tokens(text) for text in inputs)
    return Reply(
        200,
        {"id": "modr-" + ctx.seed[:32], "model": body["model"], "results": results},
        input_tokens,
        0,
    )
