"""Storage: index versions on disk (dense vectors, BM25, metadata) and reading them."""
