"""Write one index version into a new Milvus collection, publish it, collect old ones."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import write_failure
from rag.index.dense import HNSW_EF_CONSTRUCTION, HNSW_M, ivf_lists, resolve_kind
from rag.index.metadata import write_metadata
from rag.index.milvus.client import (
    DENSE,
    PUBLISHED,
    ROW,
    SITE,
    SITE_CHARS,
    SPARSE,
    collection_prefix,
    connect,
    epoch_seconds,
    guarded,
    pymilvus,
    resolve_uri,
    site_text,
)
from rag.index.milvus.terms import passage_vectors, save_terms
from rag.index.protocol import MILVUS, MILVUS_STORES, version_manifest
from rag.index.sparse import KeywordIndex, keyword_texts
from rag.index.store import (
    MANIFEST,
    VERSIONS,
    IndexManifest,
    new_staging_dir,
    publish_version,
    write_text_atomic,
)
from rag.progress import Progress, SilentProgress
from rag.records import Article, Chunk, SourceFile

INSERT_BATCH = 500


def write_milvus_version(
    index_dir: Path,
    settings: Settings,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    embedder: str,
    sources: Sequence[SourceFile] = (),
    source_roots: Sequence[str] = (),
    progress: Progress | None = None,
    **_local_only: object,
) -> tuple[Path, IndexManifest]:
    """Publish a new version whose vectors live in a new collection at ``settings.milvus_uri``.

    What the local backend reuses from the live version (``terms``, ``signatures``,
    ``base``) is accepted and ignored: Milvus computes its keyword weights itself.

    The caller holds the writer lock. Until ``CURRENT`` is swapped the new collection is
    referenced by nothing; a failure drops it (or leaves it to the next garbage
    collection when the process is killed) and the live version is untouched.
    """
    progress = progress or SilentProgress()
    uri = resolve_uri(settings)
    kind = resolve_kind(settings.index_kind, len(chunks))
    client = connect(uri)
    staging = new_staging_dir(index_dir)
    prefix = collection_prefix(index_dir)
    collection = f"{prefix}_{staging.name.removeprefix('tmp-')}"
    _remember_store(index_dir, uri, prefix)
    progress.start("writing index", len(chunks) + 2)
    try:
        keyword = KeywordIndex.build(keyword_texts(articles, chunks), settings.tokenizer)
        sparse, idf = passage_vectors(keyword)
        save_terms(staging, keyword.vocab, idf)
        progress.advance()
        _create_collection(client, uri, collection, int(vectors.shape[1]), kind, len(chunks))
        by_id = {a.id: a for a in articles}
        for start in range(0, len(chunks), INSERT_BATCH):
            rows = [
                _row(i, chunks[i], vectors[i], sparse[i], by_id.get(chunks[i].article_id))
                for i in range(start, min(start + INSERT_BATCH, len(chunks)))
            ]
            guarded(uri, "insert passages", partial(client.insert, collection, rows))
            progress.advance(len(rows))
        guarded(uri, "flush the collection", lambda: client.flush(collection))
        write_metadata(staging / "meta.sqlite", articles, chunks, sources)
        manifest = version_manifest(
            settings,
            kind,
            articles,
            chunks,
            vectors,
            embedder,
            sources,
            source_roots,
            backend=MILVUS,
            milvus_uri=uri,
            collection=collection,
        )
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        progress.advance()
        return publish_version(index_dir, staging)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _drop_quietly(client, collection)
        failure = write_failure(exc, index_dir, "a new index version")
        if failure is None:
            raise
        raise failure from None


def _row(
    row: int, chunk: Chunk, vector: np.ndarray, sparse: dict[int, float], article: Article | None
) -> dict[str, Any]:
    return {
        ROW: row,
        DENSE: vector.astype(np.float32).tolist(),
        SPARSE: sparse,
        PUBLISHED: epoch_seconds(article.published if article else None),
        SITE: site_text(article.source, article.url) if article else "\n",
    }


def _create_collection(
    client: Any, uri: str, name: str, dim: int, kind: str, passages: int
) -> None:
    types = pymilvus().DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(ROW, types.INT64, is_primary=True)
    schema.add_field(DENSE, types.FLOAT_VECTOR, dim=dim)
    schema.add_field(SPARSE, types.SPARSE_FLOAT_VECTOR)
    schema.add_field(PUBLISHED, types.INT64)
    schema.add_field(SITE, types.VARCHAR, max_length=SITE_CHARS * 4)  # bytes, not characters
    params = client.prepare_index_params()
    params.add_index(DENSE, metric_type="IP", **_dense_index(kind, passages))
    params.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    guarded(
        uri,
        f"create collection {name}",
        lambda: client.create_collection(
            name, schema=schema, index_params=params, consistency_level="Strong"
        ),
    )


def _dense_index(kind: str, passages: int) -> dict[str, Any]:
    """The Milvus index for the local kind: FLAT is exact, as FAISS' flat is."""
    if kind == "hnsw":
        return {
            "index_type": "HNSW",
            "params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
        }
    if kind == "ivf":
        return {"index_type": "IVF_FLAT", "params": {"nlist": ivf_lists(max(passages, 1))}}
    return {"index_type": "FLAT"}


def _drop_quietly(client: Any, collection: str) -> None:
    # when this fails too, the next writer's garbage collection retries
    with contextlib.suppress(Exception):
        client.drop_collection(collection)


def _remember_store(index_dir: Path, uri: str, prefix: str) -> None:
    """Record the URI before anything is written there, so a killed build's collection
    is found again."""
    stores = _stores(index_dir)
    if {"uri": uri, "prefix": prefix} not in stores:
        stores.append({"uri": uri, "prefix": prefix})
        write_text_atomic(index_dir / MILVUS_STORES, json.dumps(stores, indent=2) + "\n")


def _stores(index_dir: Path) -> list[dict[str, str]]:
    try:
        found = json.loads((index_dir / MILVUS_STORES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def drop_orphan_collections(index_dir: Path) -> None:
    """Drop this index's collections that no version directory names (writer lock held).

    Best effort: an unreachable Milvus is left for a later run.
    """
    versions = index_dir / VERSIONS
    kept = set()
    if versions.is_dir():
        for version in versions.iterdir():
            if version.name.startswith("v-"):
                try:
                    manifest = IndexManifest.from_file(version / MANIFEST)
                except Exception:  # a damaged version keeps nothing alive
                    continue
                kept.add((manifest.extra.get("milvus_uri"), manifest.extra.get("collection")))
    for store in _stores(index_dir):
        uri, prefix = store.get("uri", ""), store.get("prefix", "")
        if not uri or not prefix:
            continue
        try:
            client = connect(uri)
            for name in client.list_collections():
                if name.startswith(prefix + "_") and (uri, name) not in kept:
                    client.drop_collection(name)
        except Exception:  # unreachable or refused: try again at the next build
            continue
