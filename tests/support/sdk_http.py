"""The HTTP library the installed openai SDK talks through: httpx2 from openai 3, httpx before."""

try:
    import httpx2 as sdk_http
except ImportError:  # openai < 3
    import httpx as sdk_http  # type: ignore[no-redef]

__all__ = ["sdk_http"]
