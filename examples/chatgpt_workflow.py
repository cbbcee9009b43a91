"""Ask a chat model from a workflow: ChatGPTTask, answered by the connector within one call.

With the emulator (no key, no bill), in one shell:

    ./uvw run --frozen openai-batch-emulator --port 8080 --data-dir .emulator-data

and in another:

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 FLYTE_OPENAI_API_KEY=sk-emulator \
        ./uvw run --frozen pyflyte run examples/chatgpt_workflow.py ask --question "What is Flyte?"
"""

from flytekit import workflow

from flytekitplugins.openai import ChatGPTTask

# The connector reads its API key from the FLYTE_OPENAI_API_KEY secret (locally: that environment
# variable); the task template names no key.
chatgpt = ChatGPTTask(
    name="chatgpt",
    chatgpt_config={
        "model": "gpt-4o-mini",
        "temperature": 0.7,
        # Sent before the task's message.
        "messages": [{"role": "system", "content": "Answer in one sentence."}],
    },
)


@workflow
def ask(question: str = "What is Flyte?") -> str:
    return chatgpt(message=question)
