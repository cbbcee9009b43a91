"""The agent image's own command starts a connector server that offers openai-batch and chatgpt over gRPC."""

from __future__ import annotations

from pathlib import Path

import pytest
from flyteidl.admin.agent_pb2 import ListAgentsRequest
from flyteidl.service.agent_pb2_grpc import AgentMetadataServiceStub

from tests.images.conftest import Image
from tests.images.connector_server import serving

# Every connector the agent image serves.
TASK_TYPES = {"openai-batch", "openai-batch-job", "chatgpt"}


@pytest.mark.slow
def test_agent_image_serves_every_connector(agent_image: Image, tmp_path: Path) -> None:
    assert agent_image.cmd is not None, "the agent image has no command of its own"
    assert agent_image.cmd[:3] == ["pyflyte", "serve", "connector"]
    with serving(agent_image, tmp_path) as channel:
        # ListAgents as flytepropeller asks it.
        response = AgentMetadataServiceStub(channel).ListAgents(ListAgentsRequest(), timeout=10)

    offered = {c.name for agent in response.agents for c in agent.supported_task_categories}
    offered |= {t for agent in response.agents for t in agent.supported_task_types}
    assert offered >= TASK_TYPES, f"agents offered: {response.agents}"
