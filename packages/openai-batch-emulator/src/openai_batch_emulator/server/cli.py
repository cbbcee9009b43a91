"""`openai-batch-emulator`: serve the emulator until SIGINT/SIGTERM. The first line printed is the base URL.

With `--forward-to URL` it answers batches with an OpenAI-compatible server's real answers (see
`forwarding.options`); the upstream's key is read from OPENAI_FORWARD_API_KEY, never from an argument, so it
shows in no process list or shell history.

Without `--port` it serves a data directory on the port it had last time (kept in the directory), so
a client, or a workflow with a batch in flight, carries on against the same base URL after a restart.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from ..forwarding.options import KEY_VARIABLE, ForwardOptions
from ..settings import Settings
from ._app import create_app
from ._runtime import Runtime
from .emulator import bind_socket, url_host


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openai-batch-emulator",
        description="Serve the OpenAI Files and Batch APIs locally. Prints the base URL (…/v1) first.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port; 0 picks a free one (default: the port this data directory was served on last time, "
        "so clients and runs in flight carry on after a restart; a free one the first time or if it is taken)",
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="where files and batches are kept")
    parser.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    _forward_arguments(parser)
    defaults = Settings()
    for knob in dataclasses.fields(Settings):
        parser.add_argument(
            "--" + knob.name.replace("_", "-"),
            dest=knob.name,
            default=None,
            metavar="VALUE",
            help=f"setting {knob.name} (default {getattr(defaults, knob.name)!r})",
        )
    return parser


def _forward_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "forwarding",
        f"answer batches with a real OpenAI-compatible server; its key is read from ${KEY_VARIABLE}",
    )
    defaults = ForwardOptions(url="http://upstream", api_key=None)
    group.add_argument(
        "--forward-to",
        metavar="URL",
        help="send each batch request to URL + its path (less /v1 when URL ends in /v1), e.g. "
        "http://127.0.0.1:8000/v1 for `vllm serve`",
    )
    for name, kind, meaning in (
        ("concurrency", int, "requests in flight at once, over all batches"),
        ("requests_per_second", float, "requests started per second, over all batches; 0: no limit"),
        ("attempts", int, "attempts per request on 408/409/429/5xx or no answer"),
        ("backoff_seconds", float, "first wait between attempts, doubled each time"),
        ("max_backoff_seconds", float, "longest wait between attempts (also caps Retry-After)"),
        ("timeout_seconds", float, "longest wait for one answer"),
    ):
        group.add_argument(
            "--forward-" + name.replace("_", "-"),
            dest="forward_" + name,
            type=kind,
            default=getattr(defaults, name),
            metavar="N",
            help=f"{meaning} (default {getattr(defaults, name)!r})",
        )


def _forward_options(args: argparse.Namespace) -> ForwardOptions | None:
    if not args.forward_to:
        return None
    names = ("concurrency", "requests_per_second", "attempts", "backoff_seconds", "max_backoff_seconds")
    options = {name: getattr(args, "forward_" + name) for name in (*names, "timeout_seconds")}
    return ForwardOptions(url=args.forward_to, **options)


def _listen(host: str, port: int | None, remembered: int | None) -> socket.socket:
    """The port asked for; else the remembered one, or a free one (saying so) when it is taken."""
    if port is None and remembered is not None:
        try:
            return bind_socket(host, remembered)
        except OSError as exc:
            print(
                f"openai-batch-emulator: port {remembered}, which this data directory was served on last "
                f"time, is not available ({exc.strerror or exc}); listening on a free port instead, so "
                "clients must use the new base URL",
                file=sys.stderr,
                flush=True,
            )
    port = port or 0
    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    changes = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Settings)
        if getattr(args, f.name) is not None
    }
    try:
        settings = Settings().updated(**changes)
        forward = _forward_options(args)
    except ValueError as exc:
        sys.exit(f"openai-batch-emulator: {exc}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        runtime = Runtime(args.data_dir, api_key=args.api_key, settings=settings, forward=forward)
    except RuntimeError as exc:
        sys.exit(f"openai-batch-emulator: {exc}")
    try:
        sock = _listen(args.host, args.port, runtime.data.remembered_port())
    except OSError as exc:
        runtime.close()
        sys.exit(f"openai-batch-emulator: {exc}")
    port = sock.getsockname()[1]
    runtime.data.remember_port(port)
    print(f"http://{url_host(args.host)}:{port}/v1", flush=True)
    config = uvicorn.Config(create_app(runtime), log_level=args.log_level, lifespan="on")
    try:
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal.
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        runtime.close()
