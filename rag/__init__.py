"""rag-news: cited semantic search over archives of Chinese news articles.

from rag import Settings, build_index, open_index
build_index(["corpus/sample"], Settings())
for hit in open_index(Settings()).search("中美在COP28上承诺了什么").hits:
    print(hit.rank, hit.article.title, hit.chunk.text)
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.config import Settings, load_settings
    from rag.errors import RagError
    from rag.index.build import BuildReport, build_index
    from rag.records import Answer, Article, Chunk, Citation, Hit, IngestFailure
    from rag.retrieve import IndexReader, SearchFilters, SearchResult, open_index, search

# Public names resolve lazily so that `rag ask` does not pay for importing the ingest
# stack (trafilatura, datasketch/scipy) it never uses.
_WHERE = {
    "Settings": "rag.config",
    "load_settings": "rag.config",
    "RagError": "rag.errors",
    "BuildReport": "rag.index.build",
    "build_index": "rag.index.build",
    "Answer": "rag.records",
    "Article": "rag.records",
    "Chunk": "rag.records",
    "Citation": "rag.records",
    "Hit": "rag.records",
    "IngestFailure": "rag.records",
    "IndexReader": "rag.retrieve",
    "SearchFilters": "rag.retrieve",
    "SearchResult": "rag.retrieve",
    "open_index": "rag.retrieve",
    "search": "rag.retrieve",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Article",
    "BuildReport",
    "Chunk",
    "Citation",
    "Hit",
    "IndexReader",
    "IngestFailure",
    "RagError",
    "SearchFilters",
    "SearchResult",
    "Settings",
    "build_index",
    "load_settings",
    "open_index",
    "search",
]

__version__ = "0.1.0"
