"""GGUF -> Hugging Face folder: the q/k un-permutation and the tiny model's folder."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from assay.engines.gguf_to_hf import hf_tensor_name, unpermute_rows


def llama_cpp_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """What llama.cpp's convert_hf_to_gguf.py does to q/k rows (its ``LlamaModel.permute``)."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


@pytest.mark.parametrize(("rows", "heads"), [(576, 9), (192, 3), (128, 4)])
def test_unpermute_undoes_llama_cpps_permutation(rows, heads):
    weight = np.arange(rows * 8, dtype=np.float32).reshape(rows, 8)
    permuted = llama_cpp_permute(weight, heads)
    assert not np.array_equal(permuted, weight)
    assert np.array_equal(unpermute_rows(permuted, heads), weight)


def test_tensor_names():
    assert hf_tensor_name("blk.3.attn_q.weight") == "model.layers.3.self_attn.q_proj.weight"
    assert hf_tensor_name("blk.0.ffn_norm.weight") == "model.layers.0.post_attention_layernorm.weight"
    assert hf_tensor_name("token_embd.weight") == "model.embed_tokens.weight"
    assert hf_tensor_name("output.weight") == "lm_head.weight"
    with pytest.raises(ValueError, match="unexpected GGUF tensor"):
        hf_tensor_name("blk.0.attn_qkv.weight")


@pytest.mark.vllm
@pytest.mark.slow
def test_tiny_model_as_a_hugging_face_folder(tmp_path):
    """The tiny random Llama converts to a folder vLLM takes (head_dim 32) and transformers runs."""
    if os.environ.get("ASSAY_SKIP_VLLM") == "1":
        pytest.skip("ASSAY_SKIP_VLLM=1")
    from assay.engines import ensure_vllm, make_tiny_hf_model

    folder = make_tiny_hf_model(tmp_path / "tiny-hf")
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] == 32
    assert {"model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in folder.iterdir()}
    code = (
        "import sys, torch; from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "t = AutoTokenizer.from_pretrained(sys.argv[1]); m = AutoModelForCausalLM.from_pretrained(sys.argv[1])\n"
        "ids = t('def main():', return_tensors='pt')\n"
        "out = m.generate(**ids, max_new_tokens=5, do_sample=False, min_new_tokens=5)\n"
        "print(out.shape[1] - ids['input_ids'].shape[1], ids['input_ids'][0, 0].item() == t.bos_token_id)\n"
    )
    result = subprocess.run([str(ensure_vllm()), "-c", code, str(folder)], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["5", "True"]
