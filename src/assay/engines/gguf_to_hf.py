"""Turn a Llama-architecture GGUF into a Hugging Face model folder (config, safetensors, tokenizer).

Engines such as vLLM and ``transformers serve`` want a Hugging Face folder, and this machine
has no model hub. transformers 5.x loads a GGUF but keeps its weights packed and refuses
``save_pretrained``, so the tensors are mapped here by hand. llama.cpp's converter permutes
the rows of the q and k projections (to pair rotary halves the GGML way); they are put back
in Hugging Face order, or the model speaks nonsense.

This file runs as a script inside vLLM's own virtual environment (it needs ``torch``,
``transformers``, ``safetensors`` and ``gguf``, which assay's environment does not carry), so it
imports nothing from assay::

    VENV/bin/python gguf_to_hf.py MODEL.gguf OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def hf_tensor_name(gguf_name: str) -> str:
    """``blk.3.attn_q.weight`` -> ``model.layers.3.self_attn.q_proj.weight``."""
    stem, _, suffix = gguf_name.rpartition(".")
    parts = stem.split(".")
    if parts[0] == "blk" and len(parts) == 3 and parts[2] in LAYER_NAMES:
        return f"model.layers.{parts[1]}.{LAYER_NAMES[parts[2]]}.{suffix}"
    if stem in TOP_NAMES:
        return f"{TOP_NAMES[stem]}.{suffix}"
    raise ValueError(f"unexpected GGUF tensor {gguf_name!r} for a Llama model")


def unpermute_rows(weight: Any, heads: int) -> Any:
    """Undo llama.cpp's q/k row permutation (its ``permute`` reversed), per attention head."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def convert(gguf_path: Path, out: Path) -> None:
    import gguf
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, LlamaConfig
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    config_values: dict[str, Any] = load_gguf_checkpoint(str(gguf_path), return_tensors=False)["config"]
    if config_values.get("model_type") != "llama":
        raise SystemExit(f"{gguf_path.name}: only Llama models are converted, not {config_values.get('model_type')!r}")
    reader = gguf.GGUFReader(str(gguf_path))
    names = {tensor.name for tensor in reader.tensors}
    config_values["tie_word_embeddings"] = "output.weight" not in names
    config_values.pop("_model_name_or_path", None)
    config = LlamaConfig(**config_values)
    # Without it vLLM resolves the bare LlamaModel (no language-model head) and serves no text.
    config.architectures = ["LlamaForCausalLM"]
    config.torch_dtype = torch.bfloat16
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads

    tensors: dict[str, Any] = {}
    for tensor in reader.tensors:
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        name = hf_tensor_name(tensor.name)
        if tensor.name.endswith("attn_q.weight"):
            data = unpermute_rows(data, heads)
        elif tensor.name.endswith("attn_k.weight"):
            data = unpermute_rows(data, kv_heads)
        tensors[name] = torch.from_numpy(np.ascontiguousarray(data)).to(torch.bfloat16)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(str(out))

    beside = gguf_path.parent / "tokenizer.json"
    if beside.exists():
        # A model made with its own tokenizer.json (assay's tiny model): keep those exact files.
        shutil.copy2(beside, out / "tokenizer.json")
        for extra in ("tokenizer_config.json", "chat_template.jinja"):
            if (gguf_path.parent / extra).exists():
                shutil.copy2(gguf_path.parent / extra, out / extra)
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        tokenizer.save_pretrained(str(out))
    generation = {"bos_token_id": config.bos_token_id, "eos_token_id": config.eos_token_id}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: gguf_to_hf.py MODEL.gguf OUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
