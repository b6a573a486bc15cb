"""Runs made by real engines (and a scripted server for hostile text), and the app serving them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import SHARED

APP_SECRET = "sk-assay-APP-RECOGNISABLE-0c5b"
RICH = r"**Bold step** then $\frac{1}{2}$ and \[x^2\]"
XSS = ['<script>alert("x1")</script>', '<img src=x onerror=alert("x2")>', '<a href="javascript:alert(3)">click me</a>']


@pytest.fixture(scope="session")
def app_outputs(tmp_path_factory, tiny_server, tiny_model_dir) -> Path:
    from assay import PerfConfig, TaskConfig, run_perf
    from assay.engines import LlamaServer, ensure_smollm2
    from assay.eval import run_eval
    from tests.eval.test_retries_and_errors import ScriptedServer

    outputs = tmp_path_factory.mktemp("app-outputs")
    for name, parallel in (("perf-a", [1, 4]), ("perf-b", [2, 8])):
        run_perf(PerfConfig(url=f"{tiny_server.base_url}/completions", model="tiny", name=name, parallel=parallel,
                            number=[4, 12], max_tokens=16, tokenizer_path=str(tiny_model_dir), min_prompt_length=32,
                            max_prompt_length=32, outputs_dir=str(outputs), quiet=True))
    with LlamaServer(ensure_smollm2(), alias="SmolLM2-135M-Instruct", parallel=4, context_size=8192,
                     threads=2) as smol:
        for repeats in (1, 2):
            run_eval(TaskConfig(model="SmolLM2-135M-Instruct", api_url=smol.base_url, datasets=["gsm8k"],
                                dataset_hub="local", dataset_dir=str(SHARED / "datasets"), limit=6, repeats=repeats,
                                eval_batch_size=4, generation_config={"max_tokens": 48}, quiet=True,
                                work_dir=str(outputs / f"eval-{repeats}")))
            time.sleep(1.1)  # distinct run folders (second-resolution timestamps)

    def echo(question, attempt):  # answers with the hostile text itself
        return web.json_response({"choices": [{"message": {"content": question, "reasoning_content": XSS[0]},
                                               "finish_reason": "stop"}]})

    data = outputs.parent / "xss-data.jsonl"
    data.write_text("".join(json.dumps({"question": f"{payload} question {i}", "answer": XSS[2]}) + "\n"
                            for i, payload in enumerate([*XSS, RICH])))
    with ScriptedServer(echo) as server:
        run_eval(TaskConfig(model="xss-model", api_url=server.url, api_key=APP_SECRET, datasets=["general_qa"],
                            dataset_args={"general_qa": {"local_path": str(data)}}, quiet=True,
                            work_dir=str(outputs / "xss")))
    return outputs


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


@pytest.fixture(scope="session")
def app_server(app_outputs):
    with AppServer(app_outputs) as server:
        yield server
