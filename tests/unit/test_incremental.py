"""Updates in proportion to the change: what an update skips, and that what it writes is
the index a rebuild of the same files writes (same passages, same dense, keyword and
hybrid rankings and scores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.older_versions import written_before_checksums
from support.sample import ROOT
from support.updates import NEW_ARTICLE, QUESTIONS, change_corpus, rankings

from rag.archive import Archive
from rag.config import Settings
from rag.index.local.reader import IndexReader
from rag.index.sparse import KeywordIndex
from rag.index.store import current_version_dir
from rag.index.tokenize import tokenize


def assert_same_rankings(left: Archive, right: Archive) -> None:
    a, b = rankings(left), rankings(right)
    assert a.keys() == b.keys()
    for key in a:
        assert [h[0] for h in a[key]] == [h[0] for h in b[key]], key
        assert np.allclose([h[1:] for h in a[key]], [h[1:] for h in b[key]], rtol=0, atol=1e-6)
    assert any(a[key] for key in a)


def passages(archive: Archive) -> list[tuple[str, str]]:
    return [(c.id, c.text) for c in archive.passages()]


@pytest.mark.parametrize("legacy", [False, True], ids=["reusing", "from-an-old-version"])
def test_an_update_writes_what_a_rebuild_writes(warm_hash_settings, corpus_copy, tmp_path, legacy):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    if legacy:
        # a version written before token counts were stored: nothing to reuse but the
        # embedding cache, and the update still works
        written_before_checksums(current_version_dir(warm_hash_settings.index_dir))
        for old in (current_version_dir(warm_hash_settings.index_dir) / "bm25").glob("terms.*"):
            old.unlink()
    change_corpus(corpus_copy)
    report = archive.update()
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert report.published

    rebuilt = Archive(warm_hash_settings.with_overrides("test", index_dir=tmp_path / "rebuilt"))
    rebuilt.build([str(corpus_copy)])
    assert passages(archive) == passages(rebuilt)
    assert_same_rankings(archive, rebuilt)
    updated = IndexReader(warm_hash_settings.index_dir)
    again = IndexReader(tmp_path / "rebuilt")
    try:
        assert updated.passages == again.passages == report.passages
        rows = list(range(updated.passages))
        assert np.array_equal(
            updated.dense.reconstruct_n(0, len(rows)), again.dense.reconstruct_n(0, len(rows))
        )
        for question in QUESTIONS:
            assert np.array_equal(updated.keyword.scores(question), again.keyword.scores(question))
        # the vocabulary keeps no token that only the removed passages had
        assert set(updated.keyword.vocab) == set(again.keyword.vocab)
        # the duplicate check's signatures: the sources' own, reused or computed
        assert updated.meta.signatures() == again.meta.signatures() != {}
        # every metadata table holds what the rebuild's does (the update edits a copy)
        for table in ("articles", "chunks", "sources", "minhashes"):
            ours = updated.meta.conn.execute(f"SELECT * FROM {table}").fetchall()
            theirs = again.meta.conn.execute(f"SELECT * FROM {table}").fetchall()
            if table == "sources":  # the rebuild hashed the files again: same bytes
                ours = [row[:3] for row in ours]
                theirs = [row[:3] for row in theirs]
            assert sorted(ours) == sorted(theirs), table
    finally:
        updated.close()
        again.close()


def test_a_no_change_update_publishes_nothing(warm_hash_settings, corpus_copy):
    archive = Archive(warm_hash_settings)
    first = archive.build([str(corpus_copy)])
    versions = set(os.listdir(warm_hash_settings.index_dir / "versions"))
    report = archive.update()
    assert not report.published
    assert report.version == first.version == current_version_dir(warm_hash_settings.index_dir).name
    assert (report.articles, report.passages, report.unchanged) == (5, first.passages, 5)
    assert set(os.listdir(warm_hash_settings.index_dir / "versions")) == versions


def test_a_touched_file_is_unchanged_and_a_rewritten_one_is_updated(
    warm_hash_settings, corpus_copy
):
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    touched = corpus_copy / "000_ea12142fd580669e.txt"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    report = archive.update()
    assert (report.unchanged, report.updated, report.published) == (5, 0, False)

    edited = corpus_copy / "002_37bebe61abe63fad.txt"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("的", "地", 1), encoding="utf-8")  # same size
    assert edited.stat().st_size == len(text.encode("utf-8"))
    report = archive.update()
    assert (report.unchanged, report.updated, report.published) == (4, 1, True)


def test_an_update_reads_only_the_files_whose_size_or_mtime_changed(
    warm_hash_settings,
    corpus_copy,
    monkeypatch,
):
    """The stat check is what keeps a cron update of a large archive cheap: an unchanged
    file is not even opened (the sizes and mtimes must survive from version to version)."""
    import rag.build.sources as sources

    for path in corpus_copy.iterdir():  # older than the racy-clean window
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60 * 10**9))
    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    opened: list[str] = []
    real = sources.read_source

    def counted(path: Path, max_bytes: int) -> bytes:
        opened.append(Path(path).name)
        return real(path, max_bytes)

    monkeypatch.setattr(sources, "read_source", counted)
    assert not archive.update().published
    assert opened == []
    new = corpus_copy / "new.md"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    os.utime(new, ns=(new.stat().st_atime_ns, new.stat().st_mtime_ns - 60 * 10**9))
    report = archive.update()
    assert (report.added, report.unchanged, report.published) == (1, 5, True)
    assert opened == ["new.md"]
    opened.clear()
    assert not archive.update().published
    assert opened == []


def test_a_no_change_cli_update_says_unchanged(warm_hash_settings, corpus_copy):
    from typer.testing import CliRunner

    from rag.cli import app

    Archive(warm_hash_settings).build([str(corpus_copy)])
    env = {"RAG_CACHE_DIR": str(warm_hash_settings.embedding_cache_dir)}
    result = CliRunner().invoke(
        app, ["index", "update", "--index", str(warm_hash_settings.index_dir)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "unchanged, nothing written" in result.stdout


def test_keyword_scores_are_those_of_bm25s(hash_index: tuple[Settings, object]):
    """The BM25 matrix computed from token counts is bm25s's (Lucene) to float precision."""
    bm25s = pytest.importorskip("bm25s")
    reader = IndexReader(hash_index[0].index_dir)
    try:
        texts = [c.text for c in reader.iter_chunks()]
    finally:
        reader.close()
    ours = KeywordIndex.build(texts, "jieba+bigram")
    theirs = bm25s.BM25()
    theirs.index([tokenize(t) or [""] for t in texts], show_progress=False)
    reference = KeywordIndex(
        "jieba+bigram",
        len(texts),
        dict(theirs.vocab_dict),
        (theirs.scores["data"], theirs.scores["indices"], theirs.scores["indptr"]),
    )
    matched = 0
    for question in QUESTIONS:
        expected = reference.scores(question)
        matched += int(expected.max() > 0)
        assert np.allclose(ours.scores(question), expected, rtol=1e-5, atol=1e-6)
    assert matched >= 3


def test_few_new_passages_are_tokenised_as_the_whole_dictionary_would(sample_dir: Path):
    """An update tokenises its few new passages with the SQLite copy of jieba's
    dictionary; a build loads the dictionary. Both must give the same tokens."""
    script = """
import json, sys
from pathlib import Path
from rag.index.tokenize import tokenize
texts = [p.read_text(encoding="utf-8", errors="replace")[:3000] for p in Path(sys.argv[1]).iterdir()]
light = [tokenize(t, query=True) for t in texts]
import rag.index.tokenize as tk
assert not tk._jieba.cache_info().currsize, "jieba was loaded"
full = [tokenize(t) for t in texts]
print(json.dumps([light == full, sum(map(len, full))]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(sample_dir)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    same, tokens = json.loads(done.stdout)
    assert tokens > 1000 and same


def test_bm25_matrix_is_the_formula_in_any_block_size():
    """The score matrix is built a block of rows at a time: every block size gives the
    same arrays, and they hold Lucene's BM25 for each (passage, token) pair."""
    from rag.build.chunking import chunk_article
    from rag.index.sparse import K1, B, TermCounts, bm25_matrix, keyword_text
    from rag.ingest import load_article

    texts = []
    for path in sorted(ROOT.glob("corpus/sample/*.txt")):
        article = load_article(path)[0]
        texts += [keyword_text(article.title, c.text) for c in chunk_article(article, 120, 20)]
    texts.append("")  # a passage with no token at all
    terms = TermCounts.from_texts(texts, "jieba+bigram")
    whole = bm25_matrix(terms, block_pairs=10**9)
    for block in (1, 37, 500):
        assert all(
            np.array_equal(a, b) for a, b in zip(whole, bm25_matrix(terms, block), strict=True)
        )

    n, vocab = terms.rows, len(terms.vocab)
    dense_tf = np.zeros((n, vocab))
    for row in range(n):
        span = slice(terms.indptr[row], terms.indptr[row + 1])
        dense_tf[row, terms.ids[span]] = terms.counts[span]
    length = dense_tf.sum(axis=1)
    df = (dense_tf > 0).sum(axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = K1 * (1 - B + B * length / length.mean())
    expected = idf[None, :] * dense_tf / (dense_tf + norm[:, None])
    data, rows, indptr = whole
    got = np.zeros((n, vocab))
    for column in range(vocab):
        span = slice(indptr[column], indptr[column + 1])
        assert np.all(np.diff(rows[span]) > 0)  # rows ascending within a column
        got[rows[span], column] = data[span]
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_source_articles_are_stored_as_utf8_and_older_ascii_rows_are_upgraded(
    warm_hash_settings,
    corpus_copy,
):
    """Each source's parsed article is UTF-8 JSON (half the bytes of ASCII escapes for
    Chinese, parsed three times faster on every update); rows an older version wrote as
    ASCII JSON are read as they are and rewritten once by the next update."""
    import sqlite3
    from dataclasses import asdict

    from rag.index.metadata import MetadataStore, article_from_json, article_to_json

    archive = Archive(warm_hash_settings)
    archive.build([str(corpus_copy)])
    written_before_checksums(current_version_dir(warm_hash_settings.index_dir))
    live = current_version_dir(warm_hash_settings.index_dir) / "meta.sqlite"
    conn = sqlite3.connect(live)
    rows = conn.execute("SELECT path, article FROM sources").fetchall()
    assert rows and all(isinstance(blob, bytes) for _, blob in rows)
    for path, blob in rows:  # what versions before wrote
        data = asdict(article_from_json(blob))
        data["published"] = data["published"].isoformat() if data["published"] else None
        data["dates"] = [d.isoformat() for d in data["dates"]]
        conn.execute("UPDATE sources SET article = ? WHERE path = ?", (json.dumps(data), path))
    conn.commit()
    conn.close()
    before = MetadataStore(live).sources()
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    assert archive.update().published
    store = MetadataStore(current_version_dir(warm_hash_settings.index_dir) / "meta.sqlite")
    try:
        kinds = {r[0] for r in store.conn.execute("SELECT typeof(article) FROM sources")}
        assert kinds == {"blob"}
        after = {s.path: s.article for s in store.sources()}
    finally:
        store.close()
    assert all(after[s.path] == s.article for s in before)
    odd = replace(before[0].article, path="/tmp/caf\udce9.txt", title="标题 \u2028 x")
    assert article_from_json(article_to_json(odd)) == odd


def test_questions_look_up_their_tokens_in_the_vocabulary_table(hash_index, tmp_path):
    """The keyword side reads its vocabulary from ``bm25/vocab.sqlite`` a token at a time
    (a question no longer parses the whole JSON); scores are those of the JSON
    vocabulary, which versions written before the table still use."""
    import shutil

    from rag.index.sparse import VocabularyTable

    config = hash_index[0]
    reader = IndexReader(config.index_dir)
    copy = tmp_path / "index"
    shutil.copytree(config.index_dir, copy)
    try:
        assert isinstance(reader.keyword.vocab, VocabularyTable)
        table = reader.keyword.vocab
        stored = json.loads((reader.version_dir / "bm25" / "vocab.index.json").read_text())
        assert dict(table) == stored and len(table) == len(stored)
        assert "不存在的词元" not in table and table.get("不存在的词元") is None
        written_before_checksums(current_version_dir(copy))
        for path in (current_version_dir(copy) / "bm25").glob("vocab.sqlite"):
            path.unlink()
        older = IndexReader(copy)
        try:
            assert isinstance(older.keyword.vocab, dict)
            for question in QUESTIONS:
                assert np.array_equal(
                    reader.keyword.scores(question), older.keyword.scores(question)
                )
                assert reader.term_weights(question) == older.term_weights(question)
        finally:
            older.close()
    finally:
        reader.close()


def test_token_counts_are_16_bit_until_a_passage_needs_more():
    """Counts are stored in 16 bits (1M passages: ~430 MB less at the build's peak) and
    switch to 32 bits, losing nothing, when a token repeats 65,536 times or more."""
    from rag.index.sparse import TermCounts

    plain = TermCounts.from_texts(["北极熊 北极熊 海冰", "climate talks"], "jieba+bigram")
    assert plain.counts.dtype == np.uint16
    huge = TermCounts.from_texts(
        ["北极熊 北极熊 海冰", "ab " * 70_000, "climate talks"], "jieba+bigram"
    )
    assert huge.counts.dtype == np.int32
    row = huge.indptr[1]
    assert int(huge.counts[row : huge.indptr[2]].max()) == 70_000
    assert np.array_equal(plain.counts[: plain.indptr[1]], huge.counts[: huge.indptr[1]])
    assert np.array_equal(plain.counts[plain.indptr[1] :], huge.counts[huge.indptr[2] :])
