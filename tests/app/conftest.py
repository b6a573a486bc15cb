"""Runs made by real engines (and a scripted server for hostile text), and the app serving them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.app.support import APP_SECRET, LONG_BYTES, REASONING_CHARS, XSS, AppServer
from tests.conftest import SHARED

RICH = r"**Bold step** then $\frac{1}{2}$ and \[x^2\]"


@pytest.fixture(scope="session")
def app_outputs(tmp_path_factory, tiny_server, tiny_model_dir) -> Path:
    from assay import PerfConfig, TaskConfig, run_perf
    from assay.engines import LlamaServer, ensure_smollm2
    from assay.eval import run_eval
    from tests.scripted_server import ScriptedServer

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


@pytest.fixture(scope="session")
def app_server(app_outputs):
    with AppServer(app_outputs) as server:
        yield server


# Answers that broke the viewer (issue 15): each is sent by a scripted server as a model's reply, so it goes
# through the real eval pipeline (split of reasoning, journal) before the app shows it.
CODE = "```python\ndef add(x: int) -> int:\n    return x if x > 0 && x < 9 else 0\n```\nInline `a -> b && c`."
CURRENCY = "He had $80,000 and then puts in $50,000 more. Run `echo $HOME` then `$PATH`. Math: $x^2$."
PLACEHOLDERS = "Literal @@MATH99@@ and @@MATH0@@ beside $a+b$."
THINK = "<think>THINK-ONLY private steps</think>The answer is 42."
HARMONY = ("<|channel|>analysis<|message|>HARMONY-THOUGHT steps<|end|><|start|>assistant<|channel|>final"
           "<|message|>Final answer 7<|return|>")
AUTOLINK = r"See https://example.com/a?b=1&c=2 and <https://example.org/x_y> and \*not bold\*."
LONG = "y" * LONG_BYTES
ANSWERS = {"code": CODE, "currency": CURRENCY, "placeholders": PLACEHOLDERS, "think": THINK, "harmony": HARMONY,
           "autolink": AUTOLINK, "long": LONG}


def _qa(path: Path, questions: list[str]) -> Path:
    path.write_text("".join(json.dumps({"question": q, "answer": "42"}) + "\n" for q in questions))
    return path


@pytest.fixture(scope="session")
def crafted_outputs(tmp_path_factory) -> Path:
    """Real runs with the answers above (scripted server), a 20 x 40 KB reasoning run, and two perf runs on
    ``assay sim``: one closed-loop (concurrency), one open-loop (request rate)."""
    from assay import PerfConfig, TaskConfig, run_perf
    from assay.engines.sim import SimServer, SimSettings
    from assay.eval import run_eval
    from tests.scripted_server import ScriptedServer

    outputs = tmp_path_factory.mktemp("crafted-outputs")
    data_dir = outputs.parent / "crafted-data"
    data_dir.mkdir(exist_ok=True)

    def answer(question, attempt):
        name = question.split(":")[0]
        body = {"content": ANSWERS.get(name, "42")}
        if name.startswith("reason"):
            body["reasoning_content"] = f"{name} thinking " + ("r" * REASONING_CHARS)
        return web.json_response({"choices": [{"message": body, "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 7, "completion_tokens": 11}})

    with ScriptedServer(answer) as server:
        def evaluate(folder: str, questions: list[str]) -> None:
            data = _qa(data_dir / f"{folder.replace(',', '_')}.jsonl", questions)
            run_eval(TaskConfig(model=f"model-{folder}", api_url=server.url, datasets=["general_qa"],
                                dataset_args={"general_qa": {"local_path": str(data)}}, quiet=True,
                                work_dir=str(outputs / folder)))

        evaluate("answers", [f"{name}: question" for name in ANSWERS])
        evaluate("reasoning", [f"reason{i}: question" for i in range(20)])
        evaluate("with,comma", [f"{name}: question" for name in list(ANSWERS)[:3]] + ["extra: question"])
        run_eval(TaskConfig(model="model-multi", api_url=server.url, datasets=["gsm8k", "math_500", "aime24"],
                            dataset_hub="local", dataset_dir=str(SHARED / "datasets"), limit=2, quiet=True,
                            work_dir=str(outputs / "multi")))
    # A sample whose text holds a lone surrogate (a writer bug or a torn UTF-16 pair): the app must show it.
    samples = next((outputs / "answers").rglob("samples.jsonl"))
    row = json.loads(samples.read_text().splitlines()[0])
    row.update(key="general_qa/default/surrogate/0", sample_id="surrogate", response="bad \ud800 char",
               answer_text="bad \ud800 char")
    with open(samples, "a") as handle:
        handle.write(json.dumps(row) + "\n")

    with SimServer(SimSettings(ttft_ms=20, tpot_ms=2, output_tokens=16)) as sim:
        base = {"url": f"{sim.base_url}/completions", "model": "sim", "max_tokens": 16, "tokenizer_path": "o200k_base",
                "min_prompt_length": 8, "max_prompt_length": 8, "outputs_dir": str(outputs), "quiet": True}
        run_perf(PerfConfig(**base, name="closed", parallel=[1, 4], number=[4, 8]))
        run_perf(PerfConfig(**base, name="open", rate=[4.0, 16.0], parallel=[4], number=[8, 8]))
    return outputs


@pytest.fixture(scope="session")
def crafted_server(crafted_outputs):
    with AppServer(crafted_outputs) as server:
        yield server
