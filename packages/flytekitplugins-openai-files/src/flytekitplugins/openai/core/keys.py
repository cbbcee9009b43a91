"""Where the API key comes from, and which servers a connector may send its key to.

Task pods read the key from the Flyte secret their template names; connectors (which serve every
task of a deployment with one key) read `FLYTE_OPENAI_API_KEY`. Neither value is ever written down:
templates name a secret, never its value.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

import flytekit
from flytekit.models.security import Secret

from .client import BASE_URL_ENV, make_client, resolve_base_url
from .errors import BaseURLNotAllowed, BatchAPIError, MissingConnectorSecret, MissingSecret
from .retry import TRANSFER, describe_failure

# The connector's key: flytekit's connector (agent) secret, else this environment variable.
CONNECTOR_KEY_SECRET = "FLYTE_OPENAI_API_KEY"
# Comma-separated base URLs (or "*") a task's `base_url` may name besides OpenAI's, the connector's
# own OPENAI_BASE_URL and loopback: without this a task could send the connector's key anywhere.
ALLOWED_BASE_URLS_ENV = "FLYTE_OPENAI_ALLOWED_BASE_URLS"
OPENAI_API_URL = "https://api.openai.com/v1"


def flyte_secret_value(secret: Secret) -> str:
    """The API key from the Flyte secret a task requested; fails naming the secret, not its value."""
    secrets = flytekit.current_context().secrets
    names = {"group": secret.group, "key": secret.key, "group_version": secret.group_version}
    try:
        value = secrets.get(**names)
    except ValueError:
        value = ""
    if not value:
        raise MissingSecret(
            secret.group,
            secret.key,
            secret.group_version,
            env_vars=secret_env_vars(secrets.get_secrets_env_var(**names), **names),
            file_path=secrets.get_secrets_file(**names),
        )
    return value


def secret_env_vars(
    prefixed: str, group: str | None, key: str | None, group_version: str | None
) -> list[str]:
    """The variables a local run reads a Flyte secret from, as flytekit's SecretsManager names them:
    ``GROUP_KEY`` (local runs only), then ``prefixed`` (``_FSEC_GROUP_KEY``)."""
    plain = "_".join(part.upper() for part in (group, group_version, key) if part)
    return [plain, prefixed] if plain != prefixed else [prefixed]


def connector_api_key() -> str:
    """The connector's key: flytekit's secret (env `_FSEC_...` or mounted file), else the plain env var."""
    # Imported here: the connector machinery is not in the task pods' image, and only connectors call this.
    try:
        from flytekit.extend.backend.utils import get_connector_secret as get_secret
    except ImportError:  # flytekit 1.15 says "agent"
        from flytekit.extend.backend.utils import get_agent_secret as get_secret
    try:
        value = get_secret(CONNECTOR_KEY_SECRET)
    except ValueError:
        value = ""
    value = value or os.environ.get(CONNECTOR_KEY_SECRET, "").strip()
    if not value:
        secrets = flytekit.current_context().secrets
        raise MissingConnectorSecret(
            CONNECTOR_KEY_SECRET,
            secrets.get_secrets_env_var(key=CONNECTOR_KEY_SECRET),
            secrets.get_secrets_file(key=CONNECTOR_KEY_SECRET),
        )
    return value


def check_connector_key(base_url: str | None, organization: str | None = None) -> None:
    """Before a local run uploads anything: the connector's key is set, the connector may send it to
    ``base_url``, and that server accepts it (one cheap authenticated call: listing one batch).

    Raises MissingConnectorSecret, BaseURLNotAllowed or BatchAPIError, each naming the variable.
    """
    api_key = connector_api_key()
    url = connector_base_url(base_url)
    with make_client(api_key, organization=organization, base_url=url, retry=TRANSFER) as client:
        try:
            client.batches.list(limit=1)
        except Exception as exc:
            raise BatchAPIError(
                describe_failure(
                    f"Checking the connector's key {CONNECTOR_KEY_SECRET} against {url}", exc, api_key
                ).rstrip(".")
                + f". The batch step would fail with it, so nothing was uploaded: set {CONNECTOR_KEY_SECRET} "
                "to a key this server accepts."
            ) from None


def connector_base_url(explicit: str | None) -> str:
    """The API a task's request goes to; a task-chosen server must be one the connector trusts with its key.

    Trusted: OpenAI, the connector's own OPENAI_BASE_URL, loopback, and `FLYTE_OPENAI_ALLOWED_BASE_URLS`.
    """
    url = (resolve_base_url(explicit) or OPENAI_API_URL).rstrip("/")
    if not explicit:
        return url
    allowed = {OPENAI_API_URL, os.environ.get(BASE_URL_ENV, "").rstrip("/")}
    allowed |= {u.strip().rstrip("/") for u in os.environ.get(ALLOWED_BASE_URLS_ENV, "").split(",")}
    if url in allowed or "*" in allowed or is_loopback(url):
        return url
    raise BaseURLNotAllowed(
        f"base_url {url!r} of this task is not allowed by the connector, which sends its API key only to "
        f"OpenAI, its own {BASE_URL_ENV}, loopback and the URLs listed in {ALLOWED_BASE_URLS_ENV}."
    )


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
