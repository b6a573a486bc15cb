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
