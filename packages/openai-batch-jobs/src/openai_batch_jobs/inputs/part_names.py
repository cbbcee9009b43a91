"""What a part's file name on the server says of it: its token estimate and its model.

The upload steps name each part's file ``<stem>~est-<bound>-<prompt>-<output>-<model>.jsonl``
(`inputs.estimate`'s figures summed over the part's requests: the enqueued-token bound, the prompt
tokens, the most the answers may hold; the model percent-encoded, empty when the requests name
none). The parts' ids are all the job task gets, and OpenAI's files carry no metadata but their
name, so a job runner reads the names back (`estimate_of`) to keep a budget of enqueued tokens and a
cost cap without downloading the parts. A name without the tag (a file another tool uploaded) says
nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from openai_batch_jobs.inputs.estimate import TokenTotals

TAG = "~est-"
_TAGGED = re.compile(re.escape(TAG) + r"(\d+)-(\d+)-(\d+)-(.*)\.jsonl$")


@dataclass(frozen=True)
class PartEstimate:
    """A part's figures as its file's name carries them."""

    bound: int
    prompt: int
    output: int
    model: str | None


def tagged_name(path: str, tokens: TokenTotals, model: str | None) -> str:
    """The name the part's file at ``path``, of ``tokens``, is uploaded under."""
    stem = os.path.splitext(os.path.basename(path))[0]
    figures = f"{tokens.bound}-{tokens.prompt}-{tokens.output}"
    return f"{stem}{TAG}{figures}-{quote(model or '', safe='')}.jsonl"


def estimate_of(filename: str) -> PartEstimate | None:
    """The part's figures and model from its file's name; None when the name has no tag."""
    found = _TAGGED.search(filename)
    if found is None:
        return None
    bound, prompt, output = (int(found.group(i)) for i in (1, 2, 3))
    return PartEstimate(bound, prompt, output, unquote(found.group(4)) or None)
