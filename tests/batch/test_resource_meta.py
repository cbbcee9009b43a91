"""The resource meta propeller stores: JSON both ways, and anything else refused without unpickling."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from flytekitplugins.openai.batch.errors import ResourceMetaError
from flytekitplugins.openai.batch.resource_meta import BatchEndpointMetadata


class _Tripwire:
    """Unpickling this creates a file: proof that someone unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


def test_round_trip_is_json() -> None:
    meta = BatchEndpointMetadata(
        batch_id="batch_1",
        openai_organization="org",
        base_url="http://127.0.0.1:1/v1",
        accept_partial_results=True,
    )
    data = meta.encode()
    assert data.startswith(b"{")
    assert BatchEndpointMetadata.decode(data) == meta
    assert BatchEndpointMetadata.decode(
        BatchEndpointMetadata(batch_id="b").encode()
    ) == BatchEndpointMetadata("b")


def test_a_pickle_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    tripwire = tmp_path / "unpickled"
    data = pickle.dumps(_Tripwire(tripwire), protocol=4)
    with pytest.raises(ResourceMetaError, match="is a pickle") as info:
        BatchEndpointMetadata.decode(data)
    assert "never unpickled" in str(info.value)
    assert not tripwire.exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"batch_id": 3}',
        b'{"batch_id": ""}',
        b'{"batch_id": "b", "base_url": 1}',
        b'{"batch_id": "b", "accept_partial_results": "yes"}',
    ],
)
def test_other_bytes_are_refused_clearly(data: bytes) -> None:
    with pytest.raises(ResourceMetaError, match="is not the JSON this connector writes"):
        BatchEndpointMetadata.decode(data)


def test_log_link_points_at_the_openai_dashboard_only_for_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    from flytekitplugins.openai.batch.connector import _log_links

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for base_url in (None, "https://api.openai.com/v1"):
        links = _log_links(BatchEndpointMetadata(batch_id="batch_abc", base_url=base_url))
        assert [(link.name, link.uri) for link in links] == [
            ("OpenAI batch", "https://platform.openai.com/batches/batch_abc")
        ]
    assert _log_links(BatchEndpointMetadata(batch_id="batch_abc", base_url="http://127.0.0.1:1/v1")) == []
    # A meta that names no server polls the connector's own, which is not OpenAI here.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert _log_links(BatchEndpointMetadata(batch_id="batch_abc")) == []
