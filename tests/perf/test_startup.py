"""Start-up of ``assay perf`` (issue 19): nothing heavy is imported or built before the first request.

The real command line runs against ``assay sim`` in a subprocess whose only addition is an audit
hook (``sys.addaudithook``, Python's own import events) that notes, on the machine's monotonic
clock, when numpy, matplotlib and the tokenizer libraries were first imported. The simulator
stamps each request's arrival on the same clock with the kernel's receive time, so "imported
before the first request was sent" is a comparison of two real timestamps, not a guess.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from assay.data.tokenizers import load_tokenizer
from assay.engines.sim import SimServer, SimSettings
from assay.perf.datasets import RandomPrompts
from assay.perf.prompt_words import CachedTokenizer, cache_key, open_tokenizer

WATCHED = ("numpy", "matplotlib", "tiktoken", "tokenizers")

# Runs assay's own main() exactly as the `assay` script does, with an import-event hook in front.
HOOKED_CLI = """
import json, sys, time
first = {}
def hook(event, args):
    if event == "import":
        top = str(args[0]).split(".")[0]
        if top in WATCHED and top not in first:
            first[top] = time.perf_counter_ns()
sys.addaudithook(hook)
import atexit
atexit.register(lambda: open(OUT, "w").write(json.dumps(first)))
from assay.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_hooked(args: list[str], out: Path, cache: Path) -> tuple[dict[str, int], subprocess.CompletedProcess[str]]:
    code = f"WATCHED = {WATCHED!r}\nOUT = {str(out)!r}\n" + HOOKED_CLI
    env = {"ASSAY_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    import os

    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result


@pytest.mark.slow
def test_no_numpy_matplotlib_or_tokenizer_before_the_first_request(tmp_path):
    cache = tmp_path / "cache"
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        args = ["perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "4", "--number", "8",
                "--max-tokens", "4", "--tokenizer-path", "o200k_base", "--min-prompt-length", "24",
                "--max-prompt-length", "40", "--outputs-dir", str(tmp_path / "out"), "--quiet",
                "--no-test-connection"]
        for run in ("cold", "warm"):
            sim.reset()
            imported, result = _run_hooked(args, tmp_path / f"{run}.json", cache)
            first_arrival_ns = min(r["arrival_ns"] for r in sim.records())
            assert len(sim.records()) == 8
            # numpy is needed for the summary and is imported then: after the first request reached the server.
            assert imported["numpy"] > first_arrival_ns, (run, imported, first_arrival_ns)
            # The pictures are plain SVG: matplotlib is never imported.
            assert "matplotlib" not in imported, run
            if run == "cold":  # the first run with a tokenizer builds it (and keeps its facts)
                assert imported["tiktoken"] < first_arrival_ns
            else:  # later runs start from the kept facts; the server's usage made counting unneeded
                assert "tiktoken" not in imported, imported
            run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("Run directory: "))
            summary = json.loads((run_dir / "summary.json").read_text())
            check = summary["points"][0]["prompt_tokens_check"]
            assert check["matches"] and check["differences"] == {"0": 8}
    assert len(list((cache / "prompt-words").glob("*.json"))) == 1


@pytest.mark.parametrize("spec", ["o200k_base", "tiny"])
def test_kept_prompt_words_make_prompts_of_exact_length(spec, tmp_path, monkeypatch, tiny_model_dir):
    """Prompts made from kept facts, without re-encoding, are exact under the real tokenizer."""
    monkeypatch.setenv("ASSAY_CACHE", str(tmp_path))
    path = str(tiny_model_dir / "tokenizer.json") if spec == "tiny" else spec
    first = open_tokenizer(path)
    assert isinstance(first, CachedTokenizer) and first.loaded and first.facts.composes
    again = open_tokenizer(path)
    assert isinstance(again, CachedTokenizer) and not again.loaded  # from the cache, nothing built
    assert again.facts == first.facts
    assert again.added_special_tokens() == load_tokenizer(path).added_special_tokens()
    prompts = RandomPrompts(again)
    assert prompts.composes and not again.loaded
    real = load_tokenizer(path)
    rng = random.Random(7)
    for length in (1, 2, 5, 31, 256, 1024):
        for _ in range(5):
            assert len(real.encode(prompts.make(length, rng))) == length
    assert not again.loaded  # exact by construction: never re-encoded


def test_changed_tokenizer_files_are_measured_again(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("ASSAY_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "tok"
    folder.mkdir()
    source = (tiny_model_dir / "tokenizer.json").read_text()
    (folder / "tokenizer.json").write_text(source)
    before = cache_key(str(folder))
    assert before is not None and cache_key(str(folder)) == before
    open_tokenizer(str(folder))
    assert not open_tokenizer(str(folder)).loaded  # type: ignore[attr-defined]
    (folder / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False}))
    assert cache_key(str(folder)) != before
    assert open_tokenizer(str(folder)).loaded  # type: ignore[attr-defined]
    assert cache_key("org/some-hub-id") is None  # hub ids are not kept: resolving them needs the hub client
