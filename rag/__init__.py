"""rag-news: cited semantic search over archives of Chinese news articles.

from rag import Archive, Settings
archive = Archive(Settings(index_dir="indexes/sample"))
archive.build(["corpus/sample"])
for hit in archive.search("中美在COP28上承诺了什么").hits:
    print(hit.rank, hit.article.title, hit.article.url, hit.chunk.text)
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.archive import Archive, open_archive
    from rag.config import Settings, load_settings
    from rag.errors import RagError
    from rag.records import (
        Answer,
        ArchiveStats,
        Article,
        ArticleDetail,
        AskResult,
        BuildReport,
        Chunk,
        Citation,
        Gloss,
        Hit,
        IngestFailure,
        SearchFilters,
        SearchOptions,
        SearchResult,
    )

# Public names resolve lazily so that `rag ask` does not pay for importing the ingest
# stack (trafilatura, lxml) it never uses.
_WHERE = {
    "Archive": "rag.archive",
    "open_archive": "rag.archive",
    "Settings": "rag.config",
    "load_settings": "rag.config",
    "RagError": "rag.errors",
    **{
        name: "rag.records"
        for name in (
            "Answer",
            "ArchiveStats",
            "Article",
            "ArticleDetail",
            "AskResult",
            "BuildReport",
            "Chunk",
            "Citation",
            "Gloss",
            "Hit",
            "IngestFailure",
            "Query",
            "SearchFilters",
            "SearchOptions",
            "SearchResult",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Archive",
    "ArchiveStats",
    "Article",
    "ArticleDetail",
    "AskResult",
    "BuildReport",
    "Chunk",
    "Citation",
    "Gloss",
    "Hit",
    "IngestFailure",
    "Query",
    "RagError",
    "SearchFilters",
    "SearchOptions",
    "SearchResult",
    "Settings",
    "load_settings",
    "open_archive",
]

__version__ = "0.2.0"
