"""A rich implementation of cptbench.core.progress.Reporter: one bar per kind of work."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RichReporter:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.bars: dict[str, int] = {}

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def start(self, key: str, description: str, total: int) -> None:
        if key in self.bars:
            self.progress.reset(self.bars[key], total=total or None, description=description, visible=True)
        else:
            self.bars[key] = self.progress.add_task(description, total=total or None)

    def update(self, key: str, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        if key in self.bars:
            self.progress.update(self.bars[key], advance=advance, completed=completed, total=total)

    def finish(self, key: str) -> None:
        if key in self.bars and key != "stages":
            self.progress.update(self.bars[key], visible=False)

    def log(self, message: str) -> None:
        self.progress.console.print(message, markup=False, highlight=False)
