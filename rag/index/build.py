"""Build or update an index: ingest, merge duplicates, chunk, embed (cached), publish."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.chunking import chunk_article, embedding_text
from rag.config import Settings
from rag.embed import Embedder, get_embedder
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexMissingError, IngestError
from rag.index.embed_cache import EmbeddingCache, text_key
from rag.index.metadata import MetadataStore
from rag.index.store import (
    MANIFEST,
    IndexManifest,
    collect_garbage,
    current_version_dir,
    writer_lock,
)
from rag.index.write import write_version
from rag.ingest import discover_sources, display_path, load_article, merge_duplicates
from rag.progress import Progress, SilentProgress
from rag.records import Article, Chunk, IngestFailure


@dataclass(frozen=True)
class BuildReport:
    """What a build or update did."""

    index_dir: str
    version: str
    articles: int
    passages: int
    added: int
    updated: int
    removed: int
    unchanged: int
    failed: int
    duplicates_merged: int
    embedded: int
    reused_embeddings: int
    seconds: float
    failures: tuple[IngestFailure, ...] = ()


def _raw_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _previous_sources(
    index_dir: Path,
) -> tuple[IndexManifest | None, dict[str, tuple[str, Article]]]:
    try:
        version = current_version_dir(index_dir)
    except IndexMissingError:
        return None, {}
    manifest = IndexManifest.from_file(version / MANIFEST)
    store = MetadataStore(version / "meta.sqlite")
    try:
        return manifest, store.sources()
    except Exception as exc:  # sqlite3.DatabaseError and friends: the version is damaged
        raise IndexCorruptError(
            f"cannot read {version}/meta.sqlite ({exc}); rebuild the index"
        ) from None
    finally:
        store.close()


def build_index(
    paths: Sequence[str],
    settings: Settings,
    *,
    update: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    lock_wait: float = 0.0,
) -> BuildReport:
    """Index the articles under ``paths`` into ``settings.index_dir`` as a new version.

    ``update=False`` indexes exactly ``paths``. ``update=True`` starts from the live
    version: files whose bytes are unchanged are not re-read, changed and new files are
    re-read, files that no longer exist are dropped. Bad files are reported through
    ``progress.warn`` and counted; they never stop the run. The previous version stays
    live until the new one is completely written.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    index_dir = Path(settings.index_dir)
    with writer_lock(index_dir, lock_wait):
        collect_garbage(index_dir)
        manifest, previous = _previous_sources(index_dir) if update else (None, {})
        if update and manifest is None:
            raise IndexMissingError(
                f"no index at {index_dir} to update; build one with 'rag index build PATH...'"
            )
        if manifest is not None and manifest.embedder != _embedder_name(settings, embedder):
            raise EmbedderMismatchError(
                f"{index_dir} was built with {manifest.embedder}; settings ask for "
                f"{settings.embedder}. Rebuild with 'rag index build' to switch models"
            )
        if update and not paths and manifest is not None:
            paths = list(manifest.source_roots)

        files, failures = discover_sources(paths)
        failures = list(failures)
        for failure in failures:
            progress.warn(f"{failure.path}: {failure.reason}")

        counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        sources: dict[str, tuple[str, Article]] = {}
        seen_paths = set()
        progress.start("reading articles", len(files))
        for path in files:
            key = str(path)
            seen_paths.add(key)
            before = previous.get(key)
            try:
                raw_hash = _raw_hash(path)
                if before is not None and before[0] == raw_hash:
                    sources[key] = before
                    counts["unchanged"] += 1
                else:
                    article, warnings = load_article(
                        path, max_bytes=int(settings.max_file_mb * 1e6)
                    )
                    for message in warnings:
                        failures.append(IngestFailure(display_path(path), message, skipped=False))
                        progress.warn(f"{display_path(path)}: {message}")
                    sources[key] = (raw_hash, article)
                    counts["updated" if before is not None else "added"] += 1
            except (IngestError, OSError) as exc:
                reason = (
                    str(exc) if isinstance(exc, IngestError) else f"cannot read: {exc.strerror}"
                )
                failures.append(IngestFailure(display_path(path), reason))
                progress.warn(f"{display_path(path)}: {reason}")
                if before is not None:  # keep the last good copy rather than lose the article
                    sources[key] = before
            progress.advance()

        for key, value in previous.items():
            if key in seen_paths:
                continue
            if Path(key).exists():
                sources[key] = value
                counts["unchanged"] += 1
            else:
                counts["removed"] += 1

        ordered = sorted(sources.items())
        articles = merge_duplicates([article for _, (_, article) in ordered])
        merged = len(ordered) - len(articles)

        chunks: list[Chunk] = []
        texts: list[str] = []
        for article in articles:
            for chunk in chunk_article(article, settings.chunk_size, settings.chunk_overlap):
                chunks.append(chunk)
                texts.append(embedding_text(article.title, chunk.text))

        embedder = embedder or get_embedder(settings.embedder, settings.embed_batch)
        cache_dir = Path(settings.cache_dir) if settings.cache_dir else index_dir / "cache"
        vectors, embedded = _embed_with_cache(cache_dir, embedder, texts, progress)

        roots = sorted(
            {str(Path(p)) for p in paths} | set(manifest.source_roots if manifest else ())
        )
        final, _ = write_version(
            index_dir,
            settings,
            articles,
            chunks,
            vectors,
            embedder=embedder.name,
            sources=[(path, raw, article) for path, (raw, article) in ordered],
            source_roots=roots,
            progress=progress,
        )
        collect_garbage(index_dir)

    skipped = sum(1 for f in failures if f.skipped)
    return BuildReport(
        index_dir=str(index_dir),
        version=final.name,
        articles=len(articles),
        passages=len(chunks),
        failed=skipped,
        duplicates_merged=merged,
        embedded=embedded,
        reused_embeddings=len(chunks) - embedded,
        seconds=time.monotonic() - started,
        failures=tuple(failures),
        **counts,
    )


def _embedder_name(settings: Settings, embedder: Embedder | None) -> str:
    if embedder is not None:
        return embedder.name
    from rag.embed import embedder_name

    return embedder_name(settings.embedder)


def _embed_with_cache(
    cache_dir: Path, embedder: Embedder, texts: Sequence[str], progress: Progress
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``; only texts the cache lacks are embedded. Returns (vectors, n_new)."""
    cache = EmbeddingCache(cache_dir / "embeddings.sqlite", embedder.name, embedder.dim)
    try:
        keys = [text_key(t) for t in texts]
        known = cache.get_many(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            first_text = {k: t for k, t in zip(keys, texts, strict=True)}
            progress.start("embedding passages", len(missing))
            step = 256  # commit to the cache as we go: a killed run keeps its work
            for start in range(0, len(missing), step):
                part = missing[start : start + step]
                new = embedder.embed_passages([first_text[k] for k in part], progress.advance)
                cache.put_many(part, new)
                known.update(zip(part, new, strict=True))
        vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            vectors[i] = known[key]
        return vectors, len(missing)
    finally:
        cache.close()
