"""Credentials in URLs and in echoed server text are masked before anything is stored or shown."""

from __future__ import annotations

import pytest

from assay.eval.config import TaskConfig
from assay.perf.config import PerfConfig
from assay.redact import Scrubber, basic_token, redact_text, redact_url, remember, url_secrets


@pytest.mark.parametrize("url, shown", [
    ("http://127.0.0.1:8000/v1/completions", "http://127.0.0.1:8000/v1/completions"),
    ("https://bob:pa55word@api.example.com/v1", "https://***@api.example.com/v1"),
    ("https://tok-only@api.example.com/v1", "https://***@api.example.com/v1"),
    ("http://h/v1/chat/completions?key=AIzaXYZ&model=x", "http://h/v1/chat/completions?key=***&model=x"),
    ("http://h/v1?API_KEY=a&Access_Token=b&sig=c&Signature=d&X-Amz-Credential=e&password=f&secret=g&debug=1",
     "http://h/v1?API_KEY=***&Access_Token=***&sig=***&Signature=***&X-Amz-Credential=***&password=***&secret=***"
     "&debug=1"),
    ("http://h/v1#access_token=abc", "http://h/v1#access_token=***"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_url_secrets_include_decoded_values_and_the_basic_token():
    secrets = url_secrets("https://bob:p%40ss-word@h/v1?token=t%2Bk-123&n=5")
    assert {"bob", "p@ss-word", "p%40ss-word", "t+k-123", "t%2Bk-123", basic_token("bob", "p@ss-word")} <= set(secrets)
    assert "5" not in secrets


def test_scrubber_masks_known_values_and_credential_shapes():
    scrubber = Scrubber(["sk-live-0123456789", "pa55word", None, "x"])
    echoed = ('upstream error; headers: {"Authorization": "Bearer sk-live-0123456789", "X-Api-Key": "other-key-999", '
              '"Cookie": "session=abcdef"} at https://bob:pa55word@h/v1?key=qq-77 password=hunter22 '
              "Proxy-Authorization: Basic Ym9iOnBhNTV3b3Jk; token limit reached")
    text = scrubber.scrub(echoed)
    for secret in ("sk-live-0123456789", "pa55word", "other-key-999", "abcdef", "qq-77", "hunter22", "Ym9iOnBhNTV3b3Jk"):
        assert secret not in text
    assert "token limit reached" in text and "Bearer ***" in text  # the words around stay readable


def test_redact_text_masks_remembered_secrets_and_url_credentials():
    remember("remembered-secret-42")
    line = "cannot reach the server at http://u:pw-1234@h:1/v1/completions?api_key=k-9 (remembered-secret-42)"
    assert redact_text(line) == "cannot reach the server at http://***@h:1/v1/completions?api_key=*** (***)"


def test_saved_configs_hold_no_url_credential():
    perf = PerfConfig(url="http://bob:pa55word@127.0.0.1:1/v1/completions?key=k-1234", model="m",
                      tokenizer_path="o200k_base", server_metrics="http://bob:pa55word@127.0.0.1:1/metrics")
    public = perf.to_public_dict()
    assert public["url"] == "http://***@127.0.0.1:1/v1/completions?key=***"
    assert public["server_metrics"] == "http://***@127.0.0.1:1/metrics"
    task = TaskConfig(model="m", api_url="https://bob:pa55word@h/v1?api_key=k-1234", datasets=["gsm8k"])
    assert task.to_public_dict()["api_url"] == "https://***@h/v1?api_key=***"
    assert task.chat_url == "https://bob:pa55word@h/v1/chat/completions?api_key=k-1234"  # the query stays last
    assert "pa55word" not in str(public) + str(task.to_public_dict())


def test_config_errors_show_no_url_credential():
    from assay.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        PerfConfig(url="http://bob:pa55word@127.0.0.1:1/v1/models?key=k-1234", model="m", tokenizer_path="o200k_base")
    assert "pa55word" not in str(caught.value) and "k-1234" not in str(caught.value)
