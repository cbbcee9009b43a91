"""What the job's tasks hand each other as Flyte literals (`files.outputs.literals`): a `JobResult` as
the dict the job connector writes, a `RoundState` with its files, read back as the next task reads
them; and `BatchResult`'s literal type, flytekit's own."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import DataclassTransformer, TypeEngine
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import BatchResult, RoundState
from openai_batch_jobs.results.job_result import JobResult, RoundRecord

RESULT = JobResult(
    batches=[{"id": "batch_1", "status": "completed", "output_file_id": "file-1"}],
    parts=1,
    parts_done=1,
    request_counts={"total": 2, "completed": 2, "failed": 0},
)


def test_a_job_result_is_read_from_the_dict_the_job_connector_writes() -> None:
    ctx = FlyteContextManager.current_context()
    # As `BatchJobConnector` writes its output: the result's fields, as a dict.
    written = TypeEngine.dict_to_literal_map(ctx, {"result": asdict(RESULT)}, {"result": dict})
    assert TypeEngine.to_python_value(ctx, written.literals["result"], JobResult) == RESULT
    # A task that takes the job's result as a dict (`CollectResultsTask`) reads a JobResult's literal.
    literal = TypeEngine.to_literal(ctx, RESULT, JobResult, TypeEngine.to_literal_type(JobResult))
    assert TypeEngine.to_python_value(ctx, literal, dict) == asdict(RESULT)


def test_a_round_state_carries_its_files_and_records(tmp_path: Path) -> None:
    ctx = FlyteContextManager.current_context()
    output = tmp_path / "job-output.jsonl"
    output.write_text('{"custom_id": "a"}\n')
    record = RoundRecord(batches=[{"id": "batch_1"}], output_start=0, error_start=0)
    state = RoundState(output=JSONLFile(str(output)), rounds=[record])
    literal = TypeEngine.to_literal(ctx, state, RoundState, TypeEngine.to_literal_type(RoundState))
    read = TypeEngine.to_python_value(ctx, literal, RoundState)
    assert (read.errors, read.requests, read.rounds) == (None, None, [record])
    assert read.output is not None
    assert Path(read.output.download()).read_text() == '{"custom_id": "a"}\n'
    empty = TypeEngine.to_literal(ctx, RoundState(), RoundState, TypeEngine.to_literal_type(RoundState))
    assert TypeEngine.to_python_value(ctx, empty, RoundState) == RoundState()


def test_batch_results_type_is_flytekits_own_however_flytekit_uses_it() -> None:
    flytekits = DataclassTransformer().get_literal_type(BatchResult).to_flyte_idl()
    optional = TypeEngine.to_literal_type(Optional[BatchResult])  # noqa: UP045  (flytekit tags its variants)
    assert optional.union_type.variants[0].to_flyte_idl().metadata == flytekits.metadata
    assert TypeEngine.to_literal_type(BatchResult).to_flyte_idl() == flytekits
