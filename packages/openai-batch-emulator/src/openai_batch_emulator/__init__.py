"""A local server of the OpenAI Files and Batch APIs: try and test batch workflows with no key and no bill."""

from .server import Emulator
from .settings import Settings

__all__ = ["Emulator", "Settings"]
