"""The connector under its flytekit 1.15 name, for code that imports `...chatgpt.agent`."""

from .connector import ChatGPTAgent, ChatGPTConnector

__all__ = ["ChatGPTAgent", "ChatGPTConnector"]
