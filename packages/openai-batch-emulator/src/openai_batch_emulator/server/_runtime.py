"""`Runtime`: the state one served emulator holds: data directory, files, batches, settings, faults."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..batches.engine import BatchEngine
from ..faults.injector import FaultInjector
from ..files.store import DataDir, FileStore
from ..forwarding.forwarder import Forwarder
from ..forwarding.options import ForwardOptions
from ..settings import Settings


class Runtime:
    """The emulator's state: data directory, files, batches, knobs and armed faults."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_key: str | None = None,
        settings: Settings | None = None,
        forward: ForwardOptions | None = None,
    ) -> None:
        self.api_key = api_key
        self.data = DataDir(data_dir)
        self.files = FileStore(self.data)
        self.faults = FaultInjector()
        self._settings = settings or Settings()
        self._settings_lock = threading.Lock()
        forwarder = Forwarder(forward) if forward is not None else None
        self.engine = BatchEngine(self.data, self.files, lambda: self.settings, forwarder)

    @property
    def settings(self) -> Settings:
        with self._settings_lock:
            return self._settings

    def configure(self, **changes: Any) -> Settings:
        with self._settings_lock:
            self._settings = self._settings.updated(**changes)
            return self._settings

    def close(self) -> None:
        self.engine.close()
        self.data.close()
