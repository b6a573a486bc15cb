"""The console assay prints reports on.

Both are lazy about rich (~50 ms of imports): a load test that shows nothing until its report
(``--quiet``) sends its first request without having imported it.
"""

from __future__ import annotations

import sys
from typing import Any


class LazyConsole:
    """A rich ``Console`` made the first time something is printed or asked of it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def report_console() -> Any:
    """stdout; when stdout is not a terminal (a file, a pipe, CI), wide enough for the tables."""
    return LazyConsole(width=None if sys.stdout.isatty() else 160)


class LiveBar:
    """A rich progress bar on stderr, refreshed by the caller (no thread) at most five times a second.

    ``fields`` are the extra columns, e.g. ``{"failed": "{task.fields[failed]} failed"}``. A quiet
    bar is nothing at all (rich is not even imported).
    """

    def __init__(self, label: str, total: int | None, *, fields: dict[str, str], quiet: bool,
                 completed: int = 0, **values: Any) -> None:
        self._last = 0.0
        self.progress: Any = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            *(TextColumn(template) for template in fields.values()), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), auto_refresh=False, transient=True,
        )
        self.task = self.progress.add_task(label, total=total, completed=completed, **values)

    def __enter__(self) -> LiveBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.refresh()
            self.progress.stop()

    def step(self, **values: Any) -> None:
        if self.progress is None:
            return
        import time

        self.progress.update(self.task, advance=1, **values)
        now = time.monotonic()
        if now - self._last > 0.2:
            self._last = now
            self.progress.refresh()
