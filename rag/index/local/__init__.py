"""The local backend: FAISS, BM25 files and SQLite in a version directory, with delta
segments."""
