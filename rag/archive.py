"""``Archive``: the one object every surface talks to (CLI, HTTP, evaluation, scripts).

    from rag import Archive, Settings, SearchOptions
    archive = Archive(Settings(index_dir="indexes/sample"))
    archive.build(["corpus/sample"])
    for hit in archive.search("中美在COP28上承诺了什么").hits:
        print(hit.rank, hit.article.title, hit.chunk.text)

An archive is opened from one ``Settings`` and honours every value in it. It reads the
live index version and, in a long-running process, notices when ``build``/``update``
(here or in another process) publishes a new one: each call works on one version from
start to end, never a mix. It is safe to share between threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rag.config import Settings, load_settings
from rag.errors import EmbedderMismatchError, LLMError, RagError
from rag.progress import Progress
from rag.records import (
    ArchiveStats,
    ArticleDetail,
    AskResult,
    BuildReport,
    Chunk,
    FollowUp,
    Query,
    SearchFilters,
    SearchOptions,
    SearchResult,
    Timeline,
    Turn,
    VerifyReport,
)

if TYPE_CHECKING:
    from rag.embed import Embedder
    from rag.index.protocol import SearchIndex
    from rag.watch import Watches


# How many articles a timeline considers (its relevance cut usually keeps fewer).
TIMELINE_MAX_ARTICLES = 200


class Archive:
    """An index directory and everything that can be done with it."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.index_dir = Path(self.settings.index_dir)
        self._reader: SearchIndex | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.RLock()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def build(
        self,
        paths: Sequence[str],
        *,
        progress: Progress | None = None,
        lock_wait: float = 0.0,
    ) -> BuildReport:
        """Index exactly the articles under ``paths`` (files, folders, globs) as a new version."""
        from rag.build import build_index

        return build_index(
            paths, self.settings, progress=progress, lock_wait=lock_wait, embedder=None
        )

    def update(
        self,
        paths: Sequence[str] | None = None,
        *,
        allow_removals: bool = False,
        progress: Progress | None = None,
        lock_wait: float = 0.0,
        compact: bool = False,
    ) -> BuildReport:
        """Re-read new and changed files under ``paths`` (default: the index's own folders).

        Keeps the index's embedder and chunking. Refuses (``RemovalRefusedError``) to drop
        a missing source folder or more than half of the files unless ``allow_removals``.
        ``compact`` writes one whole version even where a delta would do (see
        ``rag.index.local.segments``), also when no file changed.
        """
        from rag.build import build_index

        return build_index(
            list(paths or ()),
            self.settings,
            update=True,
            allow_removals=allow_removals,
            progress=progress,
            lock_wait=lock_wait,
            compact=compact,
        )

    # ------------------------------------------------------------------ reading

    def search(
        self, question: str, options: SearchOptions | None = None, *, llm: bool = False
    ) -> SearchResult:
        """The ranked passages for ``question``; options left unset take the settings.
        With ``llm``, a question not in Chinese is also put into Chinese by the
        configured LLM (the dictionary's translation alone when the LLM fails)."""
        return self._search(question, options, llm)[0]

    def _search(
        self, question: str, options: SearchOptions | None, llm: bool
    ) -> tuple[SearchResult, str | None]:
        """(the search result, why the LLM did not translate the question, if it failed)."""
        from rag.search.query import plan_search
        from rag.search.retrieve import search

        options = options or SearchOptions()
        query = self.understand(question, options)
        failure = None
        if llm and query.language != "zh" and self.settings.translate_questions:
            from rag.answer.rewrite import translate_question
            from rag.search.translate import with_translation

            try:
                query = with_translation(query, translate_question(query.text, self.settings))
            except LLMError as exc:
                failure = f"{exc}; the dictionary's translation was searched"
        reader, embedder = self._live()
        plan = plan_search(query, options, self.settings)
        return search(reader, embedder, query, plan), failure

    def understand(self, question: str, options: SearchOptions | None = None) -> Query:
        """What ``question`` asks: language, the date window its time words name (None
        when explicit since/until filters are given or ``options.resolve_time`` is off),
        the text searched, the recency word and the thresholds that apply."""
        from rag.search.query import understand

        return understand(question, options or SearchOptions(), self.settings)

    def follow_up(
        self,
        question: str,
        turns: Sequence[Turn],
        options: SearchOptions | None = None,
        *,
        llm: bool = False,
    ) -> FollowUp:
        """``question`` read against the conversation's earlier ``turns`` (oldest first):
        completed from them when it leans on them (by rules, or rewritten by the configured
        LLM with ``llm``; the rules' when the LLM fails, its error in ``notice``), else a new
        topic. Search ``FollowUp.text`` with ``FollowUp.search_options(options)``."""
        from rag.search.followup import complete
        from rag.search.query import EMPTY_QUESTION, reference_date

        if not question.strip():
            raise RagError(EMPTY_QUESTION)
        options = options or SearchOptions()
        followup = complete(question, turns, options.as_of or reference_date(self.settings))
        if llm and not followup.new_topic:
            from rag.answer.rewrite import condense_question

            earlier = [t.question for t in turns][-6:]
            assert followup.as_of is not None  # complete() always names the reference date
            try:
                text = condense_question(question, earlier, self.settings, followup.as_of)
            except LLMError as exc:
                return replace(followup, notice=f"{exc}; the rules completed it")
            return replace(followup, text=text, completed=text != followup.question, method="llm")
        return followup

    def after(
        self, question: str, previous: Sequence[str], options: SearchOptions
    ) -> tuple[str, SearchOptions, FollowUp | None]:
        """What to search and how for ``question`` asked after the ``previous`` questions
        (oldest first): the question and ``options`` as they are when there are none,
        else its completed form with the conversation's date and filters, and the
        ``FollowUp`` that says how (for surfaces that keep only the questions)."""
        if not previous:
            return question, options, None
        followup = self.follow_up(question, self.replay(previous, options), options)
        return followup.text, followup.search_options(options), followup

    def replay(self, questions: Sequence[str], options: SearchOptions | None = None) -> list[Turn]:
        """The turns of a conversation from its questions alone (oldest first), each read
        against those before it and understood, nothing searched: what a surface that
        keeps only the questions passes to ``follow_up``."""
        options = options or SearchOptions()
        turns: list[Turn] = []
        for question in questions:
            followup = self.follow_up(question, turns, options)
            searched = followup.search_options(options)
            turns.append(
                Turn(
                    question=followup.question,
                    searched=followup.text,
                    understood=self.understand(followup.text, searched),
                    as_of=searched.as_of,
                    filters=options.filters,
                    new_topic=followup.new_topic,
                )
            )
        return turns

    def timeline(self, query: str, options: SearchOptions | None = None) -> Timeline:
        """The articles about ``query``'s story in date order, each with its best passage.

        Articles are found at article level (one passage each) and kept while their best
        passage clears the same relevance threshold as an answer; copies of a story
        saved from several outlets (merged at indexing, or sharing a title) are one entry
        that says who else reported it.
        """
        from rag.search.query import relevance_threshold
        from rag.search.timeline import build_timeline

        options = options or SearchOptions()
        wide = replace(options, k=TIMELINE_MAX_ARTICLES, per_article=1, min_score=0.0)
        result = self.search(query, wide)
        assert result.understood is not None  # every search result carries its query
        # the wide search turned the threshold off; the timeline keeps the caller's
        language = result.understood.language
        threshold = relevance_threshold(language, self.settings, options.min_score)
        return build_timeline(result, threshold, options.k)

    def ask(
        self,
        question: str,
        options: SearchOptions | None = None,
        *,
        llm: bool = False,
        on_token: Callable[[str], None] | None = None,
    ) -> AskResult:
        """The passages and a cited answer: extractive, or from the configured LLM.

        When the LLM fails the extractive answer comes back with ``llm_error`` set; LLM
        tokens go to ``on_token`` as they arrive.
        """
        from rag.answer.compose import answer_question

        result, untranslated = self._search(question, options, llm)
        _, embedder = self._live()
        answer = answer_question(result, embedder, self.settings, llm, on_token)
        if untranslated:
            notice = "; ".join(n for n in (answer.notice, untranslated) if n)
            answer = replace(answer, notice=notice)
        return AskResult(result, answer)

    def watches(self) -> Watches:
        """The saved questions of this index (``rag.watch``): add, list, remove, check."""
        from rag.watch import Watches

        return Watches(self.index_dir, self._article_states, self._new_stories)

    def _article_states(self) -> tuple[str, dict[str, tuple[str, datetime | None]]]:
        reader = self._reader_now()
        states = {}
        for article_id, key in reader.meta.article_keys().items():
            # (id, title, text when there is no content hash, url, source, published UTC, ...)
            published, digest = key[5], str(key[9])
            if not digest:  # an index written before articles carried their text's hash
                digest = hashlib.sha256(str(key[2]).encode("utf-8", "surrogatepass")).hexdigest()
            when = datetime.fromisoformat(str(published)).replace(tzinfo=UTC) if published else None
            states[article_id] = (digest, when)
        return reader.version, states

    def _new_stories(
        self, question: str, source: str | None, since: datetime | None, among: frozenset[str]
    ) -> Timeline:
        # the timeline's search, kept to the articles a watch has not accounted for
        from rag.search.query import relevance_threshold
        from rag.search.timeline import build_timeline

        filters = SearchFilters(since=since, source=source)
        options = SearchOptions(
            k=TIMELINE_MAX_ARTICLES,
            per_article=1,
            min_score=0.0,
            filters=filters,
            resolve_time=False,
            prefer_recent=False,
        )
        result = self.search(question, options)
        assert result.understood is not None  # every search result carries its query
        threshold = relevance_threshold(result.understood.language, self.settings, None)
        kept = tuple(h for h in result.hits if h.article.id in among)
        return build_timeline(replace(result, hits=kept), threshold)

    def article(self, article_id: str) -> ArticleDetail | None:
        """The cleaned article and its passages' offsets, or None when it is not indexed."""
        reader = self._reader_now()
        found = reader.article(article_id)
        if found is None:
            return None
        return ArticleDetail(found, tuple(reader.article_chunks(article_id)), reader.version)

    def passages(self) -> Iterator[Chunk]:
        """Every passage of the live version, in index order."""
        reader = self._reader_now()
        yield from reader.iter_chunks()

    def verify(self) -> VerifyReport:
        """Every file of the live version read and checked against its checksum, the
        embedding cache checked by SQLite, the derived model files against theirs."""
        import time

        from rag.embed.cache import check_cache
        from rag.embed.model_files import check_model_files
        from rag.index.integrity import verify_version
        from rag.index.store import current_version_dir

        started = time.perf_counter()
        version = current_version_dir(self.index_dir)
        checks = [verify_version(version)]
        cache = self.settings.embedding_cache_dir / "embeddings.sqlite"
        if cache.is_file():
            checks.append(check_cache(cache))
        checks.extend(check_model_files(self.settings.model_cache_dir))
        return VerifyReport(
            index=str(self.index_dir),
            version=version.name,
            checks=tuple(checks),
            seconds=round(time.perf_counter() - started, 3),
        )

    def stats(self) -> ArchiveStats:
        """Counts, embedder, chunking, sources and sizes of the live version."""
        from rag.index.protocol import backend_of

        reader = self._reader_now()
        m = reader.manifest
        cache = self.settings.embedding_cache_dir
        return ArchiveStats(
            index=str(self.index_dir),
            version=reader.version,
            format_version=m.format_version,
            built_at=m.built_at,
            embedder=m.embedder,
            dim=m.dim,
            index_kind=m.index_kind,
            tokenizer=m.tokenizer,
            chunk_size=m.chunk_size,
            chunk_overlap=m.chunk_overlap,
            articles=m.articles,
            passages=m.passages,
            source_files=m.sources,
            sources=reader.meta.source_counts(),
            bytes_index=_size(reader.version_dir),
            bytes_cache=_size(cache) if cache.exists() else 0,
            source_roots=m.source_roots,
            backend=backend_of(m),
            milvus_uri=str(m.extra.get("milvus_uri", "")),
            delta_passages=int(m.extra.get("delta_passages", 0)),
            removed_passages=int(m.extra.get("removed_passages", 0)),
        )

    @property
    def embedder(self) -> Embedder:
        """The embedder questions to the live version are embedded with (its own model)."""
        return self._live()[1]

    @property
    def version(self) -> str:
        """The name of the live index version."""
        return self._reader_now().version

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
            self._reader, self._stamp = None, None

    # ------------------------------------------------------------------ the live version

    def _live(self) -> tuple[SearchIndex, Embedder]:
        """The reader of the live version and the embedder its questions need."""
        reader = self._reader_now()
        return reader, self._embedder(reader)

    def _reader_now(self) -> SearchIndex:
        """The reader of the live version, reloaded when CURRENT has moved."""
        from rag.index.backend import open_index

        stamp = self._pointer_stamp()
        with self._lock:
            reader = self._reader
            if reader is None or stamp is None or stamp != self._stamp:
                # The stamp is taken before loading: if CURRENT moves meanwhile, the next
                # call sees a mismatch and loads again rather than keeping a stale reader.
                fresh = open_index(self.index_dir, self.settings.index_check)
                if reader is not None and fresh.version_dir == reader.version_dir:
                    fresh.close()  # CURRENT rewritten with the same name: keep the warm one
                else:
                    # the old reader is not closed: a call still using it may be running;
                    # its SQLite connection closes when it is garbage-collected
                    reader = fresh
                self._reader, self._stamp = reader, stamp
            assert reader is not None
            return reader

    def _embedder(self, reader: SearchIndex) -> Embedder:
        """The model the index was built with; a different one set by the user is an error."""
        from rag.embed import embedder_name

        recorded = reader.manifest.embedder
        if self.settings.was_set("embedder") and embedder_name(self.settings.embedder) != recorded:
            raise EmbedderMismatchError(
                f"index {self.index_dir} was built with {recorded}, but "
                f"{self.settings.embedder} is set ({self.settings.origin('embedder')}); "
                "unset it, or rebuild the index with that model"
            )
        with self._lock:
            return self._embedder_for(recorded)

    def _embedder_for(self, recorded: str) -> Embedder:
        from rag.embed import Embedder, embedder_for
        from rag.embed.query_cache import SharedBackend

        found = self._embedders.get(recorded)
        if found is None:
            inner = embedder_for(self.settings, recorded)  # the recorded name is a valid spec
            found = Embedder(
                SharedBackend(inner.backend, self.settings.query_cache), inner.batch_size
            )
            self._embedders[recorded] = found
        return found

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        from rag.index.store import CURRENT

        try:
            st = os.stat(self.index_dir / CURRENT)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)


def _size(path: Path) -> int:
    """Bytes under ``path``. Files may come and go meanwhile (SQLite's journal while a
    build writes the embedding cache): one that is gone counts nothing."""
    paths = (
        [str(path)]
        if path.is_file()
        else [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    )
    total = 0
    for name in paths:
        with contextlib.suppress(FileNotFoundError):
            total += os.path.getsize(name)
    return total


def open_archive(**flags: object) -> Archive:
    """An archive from the settings file, ``RAG_*`` environment and ``flags`` (as the CLI
    does: flags win, and errors name them as ``flag --name``)."""
    return Archive(load_settings(**flags))


__all__ = ["Archive", "open_archive"]
