"""Where the API key comes from in Flyte: a task pod's Flyte secret, the connector's secret.

Task pods read the key from the Flyte secret their template names; connectors (which serve every
task of a deployment with one key) read `FLYTE_OPENAI_API_KEY`. Neither value is ever written down:
templates name a secret, never its value.
"""

from __future__ import annotations

import os

import flytekit
from flytekit.models.security import Secret

from openai_batch_jobs.api import servers
from openai_batch_jobs.api.servers import (
    ALLOWED_BASE_URLS_ENV,
    OPENAI_API_URL,
    is_loopback,
    trusted_base_url,
)
from openai_batch_jobs.errors import MissingConnectorSecret, MissingSecret

__all__ = [
    "ALLOWED_BASE_URLS_ENV",
    "CONNECTOR_KEY_SECRET",
    "OPENAI_API_URL",
    "check_connector_key",
    "connector_api_key",
    "connector_base_url",
    "flyte_secret_value",
    "is_loopback",
    "secret_env_vars",
]

# The connector's key: flytekit's connector (agent) secret, else this environment variable.
CONNECTOR_KEY_SECRET = "FLYTE_OPENAI_API_KEY"


def flyte_secret_value(secret: Secret) -> str:
    """The API key from the Flyte secret a task requested; fails naming the secret, not its value."""
    secrets = flytekit.current_context().secrets
    names = {"group": secret.group, "key": secret.key, "group_version": secret.group_version}
    env_vars = secret_env_vars(secrets.get_secrets_env_var(**names), **names)
    try:
        value = secrets.get(**names)
    except ValueError:
        # flytekit 1.15 reads the plain GROUP_KEY variable only in a local run's own tasks, not in
        # those of a dynamic step's sub-workflow (a job's later rounds): read it as the run's first did.
        value = next((os.environ[name] for name in env_vars if os.environ.get(name)), "")
    if not value:
        raise MissingSecret(
            secret.group,
            secret.key,
            secret.group_version,
            env_vars=env_vars,
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
    ``base_url``, and that server accepts it.

    Raises MissingConnectorSecret, BaseURLNotAllowed or BatchAPIError, each naming the variable.
    """
    api_key = connector_api_key()
    servers.check_connector_key(api_key, connector_base_url(base_url), CONNECTOR_KEY_SECRET, organization)


def connector_base_url(explicit: str | None) -> str:
    """The API a task's request goes to; a task-chosen server must be one the connector trusts with its key."""
    return trusted_base_url(explicit)
