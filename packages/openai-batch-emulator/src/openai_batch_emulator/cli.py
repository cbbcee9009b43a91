"""`openai-batch-emulator`: serve the emulator until SIGINT/SIGTERM. The first line printed is the base URL."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from .app import Runtime, create_app
from .server import bind_socket, url_host
from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openai-batch-emulator",
        description="Serve the OpenAI Files and Batch APIs locally. Prints the base URL (…/v1) first.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--data-dir", type=Path, required=True, help="where files and batches are kept")
    parser.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
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


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    changes = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Settings)
        if getattr(args, f.name) is not None
    }
    try:
        settings = Settings().updated(**changes)
    except ValueError as exc:
        sys.exit(f"openai-batch-emulator: {exc}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        runtime = Runtime(args.data_dir, api_key=args.api_key, settings=settings)
    except RuntimeError as exc:
        sys.exit(f"openai-batch-emulator: {exc}")
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        runtime.close()
        sys.exit(f"openai-batch-emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    print(f"http://{url_host(args.host)}:{sock.getsockname()[1]}/v1", flush=True)
    config = uvicorn.Config(create_app(runtime), log_level=args.log_level, lifespan="on")
    try:
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal.
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        runtime.close()
