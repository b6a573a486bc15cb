from __future__ import annotations

import hashlib
import os
import random

import pytest

from assay.data.tokenizers import load_tokenizer
from assay.errors import DatasetError
from assay.perf.datasets import RandomPrompts, random_requests


def test_tiktoken_name_loads_offline_through_tiktokens_own_loader(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokenizer = load_tokenizer("o200k_base")
    assert tokenizer.name == "o200k_base" and tokenizer.vocab_size > 199_000
    # The rank file now sits where tiktoken caches its download, under tiktoken's own key.
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    assert (tmp_path / hashlib.sha1(url.encode()).hexdigest()).exists()
    assert tokenizer.decode(tokenizer.encode("hello world")) == "hello world"
    assert tokenizer.added_special_tokens() == []
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path)  # restored, not clobbered


@pytest.mark.slow
def test_folder_file_and_gguf_give_the_same_tokens(tiny_model_dir):
    from_folder = load_tokenizer(str(tiny_model_dir))
    from_file = load_tokenizer(str(tiny_model_dir / "tokenizer.json"))
    from_gguf = load_tokenizer(str(tiny_model_dir / "tiny.gguf"))
    text = "def parse(self, value):\n    return value + 42  # naïve"
    assert from_folder.encode(text) == from_file.encode(text) == from_gguf.encode(text)
    assert from_folder.added_special_tokens() == ["<|endoftext|> (BOS)"]
    assert from_gguf.added_special_tokens() == ["<|endoftext|> (BOS)"]


def test_hub_id_goes_through_the_hub_client_and_fails_cleanly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetError) as info:
        load_tokenizer("openai-mirror/gpt-oss-20b", hub="huggingface")
    message = str(info.value)
    assert "openai-mirror/gpt-oss-20b" in message and "huggingface" in message and "\n" not in message


def test_unknown_tokenizer_spec():
    with pytest.raises(DatasetError, match="not found"):
        load_tokenizer("/definitely/not/here")
    with pytest.raises(DatasetError, match="hub must be one of"):
        load_tokenizer("o200k_base", hub="github")


@pytest.mark.parametrize("spec", ["o200k_base", "cl100k_base", "TINY"])
def test_random_prompts_have_exact_lengths(spec, tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir) if spec == "TINY" else spec)
    maker = RandomPrompts(tokenizer)
    rng = random.Random(1)
    for length in (1, 2, 7, 128, 1024, 3000):
        assert len(tokenizer.encode(maker.make(length, rng))) == length
    requests = random_requests(maker, count=200, min_length=10, max_length=20, prefix_length=5,
                               max_tokens=1, seed=3, point=0)
    lengths = [len(tokenizer.encode(r.prompt)) for r in requests]
    assert lengths == [r.prompt_tokens for r in requests]
    assert set(lengths) == set(range(10, 21))  # uniform over the whole range, ends included
    prefixes = {tuple(tokenizer.encode(r.prompt)[:5]) for r in requests}
    assert len(prefixes) == 1


def test_same_seed_same_prompts_other_point_other_prompts():
    maker = RandomPrompts(load_tokenizer("o200k_base"))
    a = random_requests(maker, count=5, min_length=30, max_length=30, prefix_length=0, max_tokens=1, seed=7, point=0)
    b = random_requests(maker, count=5, min_length=30, max_length=30, prefix_length=0, max_tokens=1, seed=7, point=0)
    c = random_requests(maker, count=5, min_length=30, max_length=30, prefix_length=0, max_tokens=1, seed=7, point=1)
    assert [r.prompt for r in a] == [r.prompt for r in b]
    assert not {r.prompt for r in a} & {r.prompt for r in c}
