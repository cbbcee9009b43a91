"""The whole chain, upload -> batch -> download, through `create_batch` workflows run locally."""

from __future__ import annotations

from pathlib import Path

from flytekit.types.file import JSONLFile

from flytekitplugins.openai import BatchResult, create_batch
from integration.support.chain import FILE_SECRET, IMAGE, chat_requests, read_jsonl, write_jsonl
from integration.support.recorder import Session


def test_chat_completions_succeed(recorded: Session, tmp_path: Path) -> None:
    target = recorded.target
    workflow = create_batch(
        name="integration.chat",
        secret=FILE_SECRET,
        config={"endpoint": "/v1/chat/completions"},
        is_json_iterator=False,
        container_image=IMAGE,
        base_url=target.base_url,
    )
    requests = write_jsonl(tmp_path / "requests.jsonl", chat_requests(3))
    result = workflow(jsonl_in=JSONLFile(str(requests)))

    assert isinstance(result, BatchResult)
    assert result.error_file is None
    assert result.output_file is not None
    lines = read_jsonl(result.output_file.download())
    assert sorted(line["custom_id"] for line in lines) == ["chat-0", "chat-1", "chat-2"]
    for line in lines:
        assert line["response"]["status_code"] == 200
        assert line["response"]["body"]["choices"][0]["message"]["content"]
