"""The connector under its flytekit 1.15 name, for code that imports `...batch.agent`."""

from .connector import BatchEndpointAgent, BatchEndpointConnector
from .resource_meta import BatchEndpointMetadata

__all__ = ["BatchEndpointAgent", "BatchEndpointConnector", "BatchEndpointMetadata"]
