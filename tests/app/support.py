"""The app served on a free port in a thread (uvicorn), and small helpers the app tests share."""

from __future__ import annotations

import threading
import time
from pathlib import Path

APP_SECRET = "sk-assay-APP-RECOGNISABLE-0c5b"
XSS = ['<script>alert("x1")</script>', '<img src=x onerror=alert("x2")>', '<a href="javascript:alert(3)">click me</a>']
LONG_BYTES = 1_000_000
REASONING_CHARS = 40_000


class AppServer:
    def __init__(self, outputs: Path, lang: str = "en") -> None:
        import uvicorn

        from assay.app import create_app
        from assay.engines.llama_server import free_port

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app(outputs, lang=lang), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def run_ids(outputs: Path) -> dict[str, str]:
    """Run folder name (``answers``, ``closed``, ...) -> run id."""
    ids = {}
    for run_json in outputs.rglob("run.json"):
        run_id = run_json.parent.relative_to(outputs).as_posix()
        ids[run_id.split("/")[0] if not run_id[0].isdigit() else run_id.split("/")[-1]] = run_id
    return ids
