"""What the upload and download tasks share: container image, memory request, secret request."""

from __future__ import annotations

from typing import Any

from flytekit import Resources
from flytekit.core.interface import Interface
from flytekit.core.python_customized_container_task import PythonCustomizedContainerTask
from flytekit.core.shim_task import ShimTaskExecutor

from .config import OpenAIFileConfig
from .images import OpenAIFileDefaultImages

# Both tasks stream, so they need little beyond the Python process itself.
DEFAULT_MEMORY = "500Mi"


class OpenAIFileTask(PythonCustomizedContainerTask[OpenAIFileConfig]):
    """A container task whose executor rebuilds everything it needs from the serialized template."""

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        task_type: str,
        executor_type: type[ShimTaskExecutor],
        interface: Interface,
        container_image: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(task_config, OpenAIFileConfig):
            raise TypeError(f"task_config must be an OpenAIFileConfig, got {type(task_config).__name__}")
        kwargs.setdefault("requests", Resources(mem=DEFAULT_MEMORY))
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=task_type,
            executor_type=executor_type,
            container_image=container_image or OpenAIFileDefaultImages.find_image_for(),
            interface=interface,
            secret_requests=[task_config.secret],
            **kwargs,
        )
