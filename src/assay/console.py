"""The console assay prints reports on."""

from __future__ import annotations

import sys
from typing import Any


def report_console() -> Any:
    """stdout; when stdout is not a terminal (a file, a pipe, CI), wide enough for the tables."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)
