"""What a part's file name on the server says of it: its enqueued-token bound and its model.

The upload steps name each part's file ``<stem>~est-<tokens>-<model>.jsonl`` (the model
percent-encoded; empty when the requests name none): the parts' ids are all the job task gets, and
OpenAI's files carry no metadata but their name, so a job runner reads the names back (`tokens_of`)
to keep a budget of enqueued tokens without downloading the parts. A name without the tag (a file
another tool uploaded) says nothing.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, unquote

TAG = "~est-"
_TAGGED = re.compile(re.escape(TAG) + r"(\d+)-(.*)\.jsonl$")


def tagged_name(path: str, tokens: int, model: str | None) -> str:
    """The name a part's file at ``path`` is uploaded under."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"{stem}{TAG}{tokens}-{quote(model or '', safe='')}.jsonl"


def tokens_of(filename: str) -> tuple[int, str | None] | None:
    """The part's enqueued-token bound and model from its file's name; None when the name has no tag."""
    found = _TAGGED.search(filename)
    if found is None:
        return None
    return int(found.group(1)), unquote(found.group(2)) or None
