"""Build requests in a task, stream them into a batch as an Iterator[JSON], and read the answers.

./uvw run --frozen pyflyte run examples/iterator_workflow.py ask --questions '["What is 2+2?", "Name a colour."]'
"""

# flytekit streams typing.Iterator[JSON] (not collections.abc.Iterator[JSON]) to a JSONL file.
from typing import Iterator  # noqa: UP035

from flytekit import Secret, task, workflow
from flytekit.types.iterator import JSON

from flytekitplugins.openai import BatchResult, create_batch

OPENAI_SECRET = Secret(group="openai", key="api_key")

questions_batch = create_batch(name="iterator", secret=OPENAI_SECRET)


@task
def make_requests(questions: list[str], model: str) -> Iterator[JSON]:
    # A generator: the requests are written to the JSONL file one by one, never held together.
    for number, question in enumerate(questions, start=1):
        yield {
            "custom_id": f"question-{number}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": 64},
        }


@workflow
def ask(
    questions: list[str] = ["What is the capital of France?", "Who wrote Hamlet?", "What is 12 times 12?"],  # noqa: B006
    model: str = "gpt-4o-mini",
) -> BatchResult:
    return questions_batch(jsonl_in=make_requests(questions=questions, model=model))
