"""The ``milvus`` storage backend: vectors and filter fields in Milvus, the rest local.

An index directory stays the one thing a user names. Each version directory holds the
manifest (``backend``, ``milvus_uri``, ``collection``), ``meta.sqlite`` (passages and
articles: small, and what answers need) and the BM25 vocabulary with its idf weights;
Milvus holds, per passage row, the dense vector, the BM25 sparse vector and the filter
fields (publication time, source and URL).

**One collection per published version.** A build writes a fresh collection, and the
version that names it becomes live only when ``CURRENT`` is swapped, exactly as for the
local backend: a reader opens the collection its own version names, so it sees the old
rows or the new ones, never a mix, and a build killed at any point leaves at most an
unreferenced collection, dropped by the next writer's garbage collection. The other
design, rows tagged with the versions that added and removed them and a filter on the
reader's version, saves rewriting unchanged rows, but it cannot keep BM25 exact: the
stored weight ``tf/(tf + k1(1 - b + b·dl/avgdl))`` depends on the corpus' average
passage length, so adding articles changes every row's sparse vector and every row is
rewritten anyway. Updates therefore re-send every row to the new collection; the
embedding cache means nothing is embedded twice. docs/scale-out.md says what changes at
tens of millions of articles (frozen avgdl, version-tagged rows, upsert/delete).

**Scores mean the same on both backends.** Keyword scores are bm25s's (Lucene idf,
k1 1.5, b 0.75): a passage stores its term-frequency part under the term ids of the
version's vocabulary, a question sends ``idf × count``, and Milvus' inner product is
the BM25 sum. Hybrid search fuses the two rankings with our own RRF, and hits carry the
exact cosine, so the no-answer threshold is the same number.

pymilvus is imported only here, and only for a Milvus index.
"""
