"""Large inputs: validated and cut into batch-sized parts in one pass, each part uploaded as its own file.

Small part limits keep most tests fast; one test runs at OpenAI's real 50,000/50,001 boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List  # noqa: UP035

import pytest
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import OpenAIFileConfig
from flytekitplugins.openai.files.upload import UploadPartsTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import InvalidRequestFile, MissingConnectorSecret, TransferError
from openai_batch_jobs.inputs.split import PartLimits, plan_parts
from tests.files.conftest import SECRET, SECRET_ENV, file_ids
from tests.files.pod import jsonl_literal, run_in_pod, serialize
from tests.files.requests import good_file, request, write_lines


def parts_of(client: Any, ids: list[str]) -> list[bytes]:
    return [client.files.content(i).read() for i in ids]


def test_exactly_50000_requests_make_one_part_and_50001_make_two(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=50_001)
    head = b"".join(path.read_bytes().splitlines(keepends=True)[:50_000])
    (tmp_path / "head.jsonl").write_bytes(head)

    one = plan_parts(str(tmp_path / "head.jsonl"))
    assert [(p.requests, p.size) for p in one.parts] == [(50_000, len(head))]

    ids = UploadPartsTask("up", files_config)(jsonl_in=JSONLFile(str(path)))
    assert len(ids) == 2
    first, second = parts_of(openai_client, ids)
    assert first == head
    assert second == json.dumps(request(50_000)).encode() + b"\n"


def test_a_line_that_would_pass_the_byte_limit_starts_the_next_part(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=10)
    lines = path.read_bytes().splitlines(keepends=True)
    limit = len(lines[0]) * 3 + 1  # three lines fit, the fourth would pass the limit by a few bytes
    plan = plan_parts(str(path), PartLimits(bytes=limit))
    assert [p.requests for p in plan.parts] == [3, 3, 3, 1]
    assert [p.first_line for p in plan.parts] == [1, 4, 7, 10]

    ids = UploadPartsTask("up", files_config, limits=PartLimits(bytes=limit))(jsonl_in=JSONLFile(str(path)))
    uploaded = parts_of(openai_client, ids)
    assert all(len(p) <= limit for p in uploaded)
    assert b"".join(uploaded) == path.read_bytes()  # in order, at line boundaries, nothing lost


def test_request_limit_per_part(tmp_path: Path) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=7)
    assert [p.requests for p in plan_parts(str(path), PartLimits(requests=3)).parts] == [3, 3, 1]


def test_a_single_line_bigger_than_the_limit_is_an_error_and_nothing_is_uploaded(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    big = request(1)
    big["body"]["messages"][0]["content"] = "x" * 5000
    path = write_lines(tmp_path / "requests.jsonl", [request(0), big, request(2)])
    with pytest.raises(
        InvalidRequestFile, match=r"line 2: the line alone is 5,\d{3} bytes, more than .*4,096"
    ):
        UploadPartsTask("up", files_config, limits=PartLimits(bytes=4096))(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == set()


def test_a_custom_id_repeated_across_parts_names_both_lines_and_nothing_is_uploaded(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    lines = [request(i) for i in range(9)] + [request(99, custom_id="req-1")]
    path = write_lines(tmp_path / "requests.jsonl", lines)
    task = UploadPartsTask("up", files_config, limits=PartLimits(requests=3))
    with pytest.raises(
        InvalidRequestFile, match=r"line 10: custom_id 'req-1' is already used on line 2"
    ) as raised:
        task(jsonl_in=JSONLFile(str(path)))
    assert "1 problem;" in str(raised.value)
    assert file_ids(openai_client) == set()


def test_embedding_inputs_cut_a_part_before_the_limit(tmp_path: Path) -> None:
    def embedding(i: int, inputs: int) -> dict[str, Any]:
        body = {"model": "text-embedding-3-small", "input": [f"w{n}" for n in range(inputs)]}
        return {"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings", "body": body}

    path = write_lines(tmp_path / "e.jsonl", [embedding(i, 4) for i in range(5)])
    plan = plan_parts(str(path), PartLimits(embedding_inputs=10), endpoint="/v1/embeddings")
    assert [p.requests for p in plan.parts] == [2, 2, 1]
    with pytest.raises(InvalidRequestFile, match="line 1: the request alone has 4 embedding inputs"):
        plan_parts(str(path), PartLimits(embedding_inputs=3))


def test_embedding_inputs_of_a_line_only_json_loads_reads_are_counted(tmp_path: Path) -> None:
    """A NaN elsewhere in the body sends the line to json.loads; its inputs count the same."""
    body = {"model": "text-embedding-3-small", "input": ["a", "b", "c"], "dimensions": float("nan")}
    lines = [
        {"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings", "body": body} for i in range(2)
    ]
    path = write_lines(tmp_path / "e.jsonl", lines)
    plan = plan_parts(str(path), PartLimits(embedding_inputs=5), endpoint="/v1/embeddings")
    assert [p.requests for p in plan.parts] == [1, 1]


def test_an_upload_failing_midway_deletes_the_parts_already_uploaded(
    tmp_path: Path, emulator: Emulator, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    long = [request(i) for i in range(3, 6)]
    for line in long:
        line["body"]["messages"][0]["content"] = "y" * 1500
    path = write_lines(tmp_path / "requests.jsonl", [request(0), request(1), request(2), *long])
    emulator.configure(max_upload_bytes=2048)  # the first part fits; the second is refused
    task = UploadPartsTask("up", files_config, limits=PartLimits(requests=3))
    with pytest.raises(TransferError, match="Uploading"):
        task(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == set()


def test_a_local_run_checks_the_connectors_key_before_uploading(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYTE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("_FSEC_FLYTE_OPENAI_API_KEY", raising=False)
    path = good_file(tmp_path / "requests.jsonl", n=3)
    task = UploadPartsTask("up", files_config, check_connector_key=True)
    with pytest.raises(MissingConnectorSecret, match="FLYTE_OPENAI_API_KEY"):
        task(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == set()
    # Without the check (the task on its own), the same run uploads.
    assert len(UploadPartsTask("up", files_config)(jsonl_in=JSONLFile(str(path)))) == 1


def test_upload_parts_in_a_pod(tmp_path: Path, emulator: Emulator, openai_client: Any) -> None:
    """The container command Flyte runs: the template alone says the limits and the endpoint."""
    path = good_file(tmp_path / "requests.jsonl", n=5)
    task = UploadPartsTask(
        "up", OpenAIFileConfig(SECRET), limits=PartLimits(requests=2), endpoint="/v1/chat/completions"
    )
    template = serialize(task)
    assert template.type == "openai-batch-upload-parts"
    env = {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    run = run_in_pod(task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "pod", env)
    assert run.returncode == 0, run.log[-4000:]
    ids = run.output("parts", List[str])  # noqa: UP006
    assert b"".join(parts_of(openai_client, ids)) == path.read_bytes()
    assert len(ids) == 3
    assert "uploading it as 3 parts" in run.stderr
