"""BatchJobTask's definition: type, interface, settings in the template, early refusals, exports."""

from __future__ import annotations

import pytest

import flytekitplugins.openai.batch as batch_package
from flytekitplugins.openai.batch import BatchJobTask
from flytekitplugins.openai.batch.errors import BatchConfigError

from .flyte_models import template


def test_template_carries_the_type_interface_and_settings() -> None:
    task = BatchJobTask(
        name="job", config={"endpoint": "/v1/embeddings"}, max_in_flight=3, accept_partial_results=True
    )
    tt = template(task)
    assert tt.type == "openai-batch-job"
    assert list(tt.interface.inputs) == ["input_file_ids"]
    assert list(tt.interface.outputs) == ["result"]
    assert tt.custom["max_in_flight"] == 3
    assert tt.custom["accept_partial_results"] is True
    assert tt.custom["config"] == {"endpoint": "/v1/embeddings"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"config": {"endpoint": "/v1/nope"}}, "not a Batch API endpoint"),
        ({"config": {}, "max_in_flight": 0}, "max_in_flight of BatchJobTask 'job' must be at least 1"),
        ({"config": {}, "token_limit_attempts": 0}, "token_limit_attempts"),
        ({"config": {}, "base_url": "ftp://x"}, "must be an http"),
    ],
)
def test_bad_settings_fail_where_the_task_is_defined(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BatchConfigError, match=match):
        BatchJobTask(name="job", **kwargs)  # type: ignore[arg-type]


def test_exported_lazily_beside_the_batch_task() -> None:
    assert "BatchJobTask" in batch_package.__all__
    assert batch_package.BatchJobTask is BatchJobTask
