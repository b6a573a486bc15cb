"""The console assay prints reports on."""

from __future__ import annotations

import sys
from typing import Any


def report_console() -> Any:
    """stdout; when stdout is not a terminal (a file, a pipe, CI), wide enough for the tables."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


class LiveBar:
    """A rich progress bar on stderr, refreshed by the caller (no thread) at most five times a second.

    ``fields`` are the extra columns, e.g. ``{"failed": "{task.fields[failed]} failed"}``.
    """

    def __init__(self, label: str, total: int | None, *, fields: dict[str, str], quiet: bool,
                 completed: int = 0, **values: Any) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._last = 0.0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            *(TextColumn(template) for template in fields.values()), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), auto_refresh=False, disable=quiet, transient=True,
        )
        self.task = self.progress.add_task(label, total=total, completed=completed, **values)

    def __enter__(self) -> LiveBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.refresh()
        self.progress.stop()

    def step(self, **values: Any) -> None:
        import time

        self.progress.update(self.task, advance=1, **values)
        now = time.monotonic()
        if now - self._last > 0.2:
            self._last = now
            self.progress.refresh()
