"""rag-news: cited semantic search over archives of Chinese news articles.

    from rag import Settings, build_index, open_index
    build_index(["corpus/sample"], Settings())
    for hit in open_index(Settings()).search("中美在COP28上承诺了什么").hits:
        print(hit.rank, hit.article.title, hit.chunk.text)
"""

from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.index.build import BuildReport, build_index
from rag.records import Answer, Article, Chunk, Citation, Hit, IngestFailure
from rag.retrieve import IndexReader, SearchFilters, SearchResult, open_index, search

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
