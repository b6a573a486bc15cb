"""Property-based fuzzing: no input makes the parsers, extractors or config loaders raise anything
but assay's own one-line errors, and none of them hangs."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.client.sse import StreamState
from assay.errors import AssayError
from assay.eval.scoring import extract_boxed, extract_final_answer, last_number, split_reasoning
from assay.eval.scoring.choice import extract_choice

pytestmark = pytest.mark.slow  # property tests of hundreds of examples each

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@FAST
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_sse_parser_survives_any_bytes(payloads):
    state = StreamState()
    for i, payload in enumerate(payloads):
        state.on_data(payload, i)
    state.problem()  # decides success or a reason, without raising


@FAST
@given(json_like)
def test_sse_parser_survives_any_json_shape(value):
    import json

    state = StreamState()
    state.on_data(json.dumps({"choices": value, "usage": value, "error": value}).encode(), 1)
    state.on_data(json.dumps(value).encode(), 2)
    state.problem()


@FAST
@given(st.text(max_size=2000))
def test_extractors_never_raise_and_finish_quickly(text):
    started = time.monotonic()
    split_reasoning(text, text[:10] or None)
    extract_final_answer(text)
    extract_boxed(text)
    last_number(text)
    extract_choice(text, "ABCDEFGHIJ")
    assert time.monotonic() - started < 1.0


@FAST
@given(st.text(alphabet="\\{}boxed()[]<>/thinkABC0123456789 .,:$\n*", max_size=400))
def test_extractors_on_adversarial_latex_and_tags(text):
    started = time.monotonic()
    split_reasoning(text)
    extract_final_answer(text)
    extract_choice(text, "ABCD")
    assert time.monotonic() - started < 1.0


field_values = st.one_of(st.none(), st.integers(-5, 5000), st.floats(allow_nan=True), st.text(max_size=12),
                         st.booleans(), st.lists(st.integers(-2, 300), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@FAST
@given(st.dictionaries(st.sampled_from(["model", "api_url", "datasets", "eval_batch_size", "repeats", "limit",
                                        "timeout", "generation_config", "dataset_args", "dataset_hub", "seed",
                                        "judge_strategy", "judge_model_args", "use_cache", "unknown_field"]),
                       field_values, max_size=6))
def test_task_config_accepts_or_refuses_with_a_config_error(kwargs):
    from assay import TaskConfig

    base = {"model": "m", "api_url": "http://127.0.0.1:1/v1", "datasets": ["gsm8k"]}
    try:
        TaskConfig(**{**base, **kwargs})
    except AssayError as exc:
        assert "\n" not in str(exc)


@FAST
@given(st.dictionaries(st.sampled_from(["parallel", "number", "rate", "max_tokens", "min_tokens", "min_prompt_length",
                                        "max_prompt_length", "prefix_length", "extra_args", "percentiles", "slo",
                                        "duration", "workers", "burstiness", "dataset", "url", "bogus"]),
                       field_values, max_size=6))
def test_perf_config_accepts_or_refuses_with_a_config_error(kwargs):
    from assay import PerfConfig

    base = {"url": "http://127.0.0.1:1/v1/completions", "model": "m", "tokenizer_path": "o200k_base"}
    try:
        PerfConfig(**{**base, **kwargs})
    except AssayError as exc:
        assert "\n" not in str(exc)


def test_non_finite_numbers_are_refused():
    import pytest

    from assay import PerfConfig, TaskConfig
    from assay.errors import ConfigError

    with pytest.raises(ConfigError, match="limit: must be a finite number"):
        TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["gsm8k"], limit=float("nan"))
    with pytest.raises(ConfigError, match="rate: must be a finite number"):
        PerfConfig(url="http://127.0.0.1:1/v1/completions", model="m", tokenizer_path="o200k_base",
                   rate=[float("inf")], number=[3])
