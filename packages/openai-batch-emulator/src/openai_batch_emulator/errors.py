"""OpenAI-shaped errors: every failure a client sees has the body `{"error": {...}}` the SDK parses."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answered to the client as OpenAI would: HTTP status plus the standard error object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# The error OpenAI answers for a status, as (message, type, code); others get a generic one.
STATUS_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("The request was invalid.", "invalid_request_error", None),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


def status_error(status: int, note: str = "") -> dict[str, Any]:
    """The OpenAI-shaped error body of an HTTP `status`, with `note` appended to its message."""
    generic = (
        f"The request failed with status {status}.",
        "server_error" if status >= 500 else "invalid_request_error",
        None,
    )
    message, kind, code = STATUS_ERRORS.get(status, generic)
    return error_body(f"{message} {note}".strip(), type=kind, code=code)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def invalid_value(value: object, supported: tuple[str, ...], *, param: str) -> ApiError:
    """OpenAI's answer to a value outside a parameter's enumeration."""
    listed = ", ".join(f"'{s}'" for s in supported)
    return bad_request(
        f"Invalid value: '{value}'. Supported values are: {listed}.", param=param, code="invalid_value"
    )


def not_found(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(404, message, param=param, code=code)
