"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_assay(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real ``assay`` command line in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "assay", *args], capture_output=True, text=True, cwd=cwd, env=full_env,
        timeout=timeout,
    )


def write_gsm8k_questions(root: Path, count: int) -> Path:
    """``count`` GSM8K-shaped questions (``What is i + i?``, answer ``2i``) as ``root/gsm8k/test.jsonl``
    (a ``dataset_dir`` for ``dataset_hub="local"``); returns ``root``."""
    import json

    (root / "gsm8k").mkdir(parents=True, exist_ok=True)
    (root / "gsm8k" / "test.jsonl").write_text("".join(
        json.dumps({"question": f"What is {i} + {i}?", "answer": f"{i} and {i} #### {2 * i}"}) + "\n"
        for i in range(count)))
    return root


async def serve_bytes(pieces: list[bytes], *, status: int = 200, content_type: str = "text/event-stream",
                      delay_s: float = 0.0):
    """An HTTP/1.1 server on loopback that answers each connection with ``pieces`` written one by one,
    ``delay_s`` apart, then closes. Returns (server, port, received): (request target, body) of each request."""
    import asyncio

    received: list[tuple[bytes, bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        received.append((head.split(b" ")[1], await reader.readexactly(length)))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n".encode())
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if delay_s:
                await asyncio.sleep(delay_s)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received
