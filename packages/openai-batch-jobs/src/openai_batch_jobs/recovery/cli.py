"""The `orphans` command: list what runs of this plugin left on an account, and with `--delete`
cancel and delete it (`orphans` says what counts as ours). Run as
``python -m flytekitplugins.openai orphans [--older-than AGE] [--delete] [--base-url URL]``.

The key is read from OPENAI_API_KEY, else FLYTE_OPENAI_API_KEY; the server from `--base-url`, else
OPENAI_BASE_URL, else OpenAI. No Flyte admin is asked whether a cluster execution still runs: the age
is the guard for those, so pick one longer than your longest job (the default is a day).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.client import make_client, resolve_base_url
from openai_batch_jobs.api.retry import describe_failure, transient_errors
from openai_batch_jobs.files.uploads import FILE_PREFIX
from openai_batch_jobs.messages import counted
from openai_batch_jobs.recovery.orphans import Cleanup, Orphans, delete_orphans, find_orphans, owner

KEY_ENVS = ("OPENAI_API_KEY", "FLYTE_OPENAI_API_KEY")
DEFAULT_AGE = "1d"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``6h``, ``2d`` as seconds; ArgumentTypeError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (use seconds, or a number and s, m, h or d)")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flytekitplugins.openai", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    orphans = commands.add_parser(
        "orphans", help="list (and with --delete remove) what runs left on the server"
    )
    orphans.add_argument(
        "--older-than",
        type=parse_age,
        default=parse_age(DEFAULT_AGE),
        metavar="AGE",
        help=f"only what was created longer ago than this (default {DEFAULT_AGE}; 0 for all)",
    )
    orphans.add_argument("--delete", action="store_true", help="cancel the batches and delete the files")
    orphans.add_argument(
        "--base-url", default=None, help="the server (default: OPENAI_BASE_URL, else OpenAI)"
    )
    args = parser.parse_args(argv)
    api_key = next((os.environ[name] for name in KEY_ENVS if os.environ.get(name)), None)
    if not api_key:
        print(f"error: set {' or '.join(KEY_ENVS)} to the API key of the account to search", file=sys.stderr)
        return 2
    base_url = resolve_base_url(args.base_url)
    client = make_client(api_key, base_url=base_url)
    try:
        with client:
            found = find_orphans(client, args.older_than)
            print(listing(found, base_url or "OpenAI", args.older_than, args.delete))
            if args.delete and (found.batches or found.files):
                print(outcome(delete_orphans(client, found, api_key=api_key)))
    except (openai.APIStatusError, *transient_errors()) as exc:
        print(f"error: {describe_failure('Reading the account', exc, api_key)}", file=sys.stderr)
        return 1
    return 0


def listing(found: Orphans, server: str, age_s: float, deleting: bool) -> str:
    lines = [
        f"Orphans on {server} older than {age_s:.0f} s (batches tagged flyte_task_execution or on our input "
        f"files, files named {FILE_PREFIX}*, and our batches' result files):"
    ]
    lines += [
        f"  batch {b['id']}  {b.get('status')}  created {_when(b)}  owner {owner(b)}  input {b.get('input_file_id')}"
        for b in found.batches
    ]
    lines += [
        f"  file  {f['id']}  {f.get('purpose')}  {f.get('filename')}  {f.get('bytes', 0):,} bytes  created {_when(f)}"
        for f in found.files
    ]
    total = f"{_batches(len(found.batches), 'running ')}, {counted(len(found.files), 'file')}"
    lines.append(
        f"Found {total}."
        + ("" if deleting or not (found.batches or found.files) else " Add --delete to remove them.")
    )
    if found.kept_live:
        lines.append(f"Left alone: {_batches(found.kept_live)} of runs still alive on this machine.")
    return "\n".join(lines)


def outcome(done: Cleanup) -> str:
    lines = [f"Cancelled {_batches(len(done.cancelled))}."]
    if done.cancel_failures:
        lines.append(f"Could not cancel: {'; '.join(done.cancel_failures)}.")
    if done.still_cancelling:
        lines.append(
            f"Still cancelling (run again later to delete their result files): {', '.join(done.still_cancelling)}."
        )
    deletion = done.deletion
    lines.append(f"Deleted {counted(len(deletion.deleted), 'file')}.")
    lines += [f"Could not delete: {why}" for _, why, _ in deletion.failed]
    if deletion.unfinished:
        lines.append(f"Not deleted in time: {', '.join(deletion.unfinished)}.")
    return "\n".join(lines)


def _when(item: dict[str, Any]) -> str:
    return datetime.fromtimestamp(int(item.get("created_at") or 0), tz=timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )


def _batches(n: int, adjective: str = "") -> str:
    return f"{n:,} {adjective}batch" + ("" if n == 1 else "es")
