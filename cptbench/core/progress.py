"""How long work reports its progress: a small interface the CLI implements with rich."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, key: str, description: str, total: int) -> None:
        """Begin (or restart) a progress bar identified by ``key``."""

    def update(self, key: str, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        ...

    def finish(self, key: str) -> None:
        ...

    def log(self, message: str) -> None:
        ...


class SilentReporter:
    """Reports nothing (library use, tests)."""

    def start(self, key: str, description: str, total: int) -> None:
        pass

    def update(self, key: str, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        pass

    def finish(self, key: str) -> None:
        pass

    def log(self, message: str) -> None:
        pass
