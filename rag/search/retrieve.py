"""Search one index version: dense, keyword or hybrid ranking, filters, a per-article cap
and the no-answer threshold. ``Archive.search`` is the public way in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from rag.config import DENSE, KEYWORD, MODES
from rag.embed import Embedder
from rag.errors import RagError
from rag.index.protocol import Ranking, SearchIndex
from rag.records import (
    Hit,
    LatinName,
    Query,
    SearchFilters,
    SearchResult,
    parse_day,
)
from rag.search.glossed import glossed_as
from rag.search.no_answer import signals
from rag.search.query import EMPTY_QUESTION, SearchPlan
from rag.search.recency import newest_first
from rag.search.wording import EmbeddedWording
from rag.text.normalize import language_of
from rag.text.pinyin import find_written
from rag.text.sentences import best_sentence, best_sentence_coverage
from rag.text.urls import site_of

# Passages of the first ranking read for the characters of a name spelled in Latin letters
NAME_POOL = 50
RRF_K = 10  # measured on CMRC + news-oped2: k=10 beats 60 on passage MRR@10 and R@5
# Hybrid re-ranks this many of its first passages by their best sentence (README,
# "Search modes"): 10, 20 and 30 measured within 0.002 of each other on passage R@1.
SENTENCE_POOL = 20
# passages a 最新 / latest question is reordered from (measured with rag.search.recency's band)
RECENCY_POOL = 10


def search_index(
    reader: SearchIndex, embedder: Embedder, question: str, plan: SearchPlan
) -> SearchResult:
    """The top ``plan.k`` passages for ``question``, at most ``plan.per_article`` per article.

    When no passage's cosine reaches ``plan.min_score`` (or, without one, the calibrated
    confidence is below the model's threshold) the result is marked ``no_answer`` (the
    passages stay attached for reference).
    """
    query = question.strip()
    if not query:
        raise RagError(EMPTY_QUESTION)
    if plan.mode not in MODES:
        raise RagError(f"unknown mode {plan.mode!r}; use one of {', '.join(MODES)}")
    if plan.k < 1:
        raise RagError("k must be at least 1")
    if plan.per_article < 0 or plan.per_source < 0:
        raise RagError("per_article and per_source must be 0 (no cap) or more")

    def result(hits: Sequence[Hit], notice: str | None = None, **extra: object) -> SearchResult:
        return SearchResult(
            query,
            plan.mode,
            str(reader.index_dir),
            tuple(hits),
            plan.filters,
            notice=notice,
            version=reader.version,
            **extra,  # type: ignore[arg-type]
        )

    allowed: list[int] | None = None
    if plan.filters.active():
        allowed = reader.rows_matching(plan.filters)
        if not allowed:
            return result((), "no article matches the filters")
    # every mode reports cosine scores, so the question is always embedded
    qvec = embedder.embed_query(query)
    other = plan.wording
    wording = EmbeddedWording(
        query,
        qvec,
        f"{query} {other.keywords}" if other.keywords else query,
        other.translation,
        embedder.embed_query(other.translation) if other.translation else None,
    )
    total = reader.passages if allowed is None else len(allowed)

    def ranked_and_kept(wording: EmbeddedWording) -> tuple[Ranking, Ranking]:
        depth = max(50, plan.k * 10)
        while True:
            ranked = rank(reader, wording, plan.mode, min(depth, total), allowed, plan.filters)
            kept = cap_per_article(reader, ranked, plan.k, plan.per_article, plan.per_source)
            if len(kept) >= plan.k or depth >= total:
                return ranked, kept
            depth *= 4

    ranked, kept = ranked_and_kept(wording)
    names: dict[str, str] = {}
    if other.latin_names and plan.readings_of is not None:
        names = names_in_passages(reader, ranked[:NAME_POOL], other.latin_names, plan.readings_of)
        if names:
            wording = _with_names(wording, names, embedder)
            ranked, kept = ranked_and_kept(wording)
    hits = _hits(reader, wording.keywords, qvec, kept)
    best = max((h.score for h in hits), default=0.0)
    model = plan.no_answer
    confidence = None
    found_signals = None
    # the signals whenever the check is on, so that a model can be fitted on them
    if hits and (model is not None or (plan.min_score or 0.0) > 0.0):
        if other.mainland:  # read by the signals only, so embedded only for them
            mainland = embedder.embed_query(other.mainland)
            wording = replace(wording, mainland=other.mainland, mainland_vector=mainland)
        found_signals = signals(reader, wording, allowed, plan.filters)
    if model is not None and found_signals is not None:
        language = plan.language or language_of(query)
        confidence = model.confidence(language, found_signals)
    notice = None
    if hits and plan.min_score is not None and best < plan.min_score:
        notice = f"no passage is relevant enough (best cosine {best:.3f} < {plan.min_score:.2f})"
    elif plan.min_score is None and model and confidence is not None:
        notice = _unsure_notice(confidence, model.threshold, best)
    return result(
        hits,
        notice,
        no_answer=notice is not None,
        query_vector=qvec,
        confidence=confidence,
        signals=found_signals,
        names_read=tuple(names.items()),
    )


def names_in_passages(
    reader: SearchIndex,
    ranked: Ranking,
    names: Sequence[LatinName],
    readings_of: Callable[[Iterable[str]], Mapping[str, frozenset[str]]],
) -> dict[str, str]:
    """Each name written in Latin letters -> the Chinese that most often writes it in
    ``ranked``'s passages and their titles: characters that read as its syllables
    ("Yan Changshou" -> 严长寿), or that a bracket glosses with it ("蓬佩奥（Mike
    Pompeo）"); names not found are left out."""
    chunks = reader.chunks([row for row, _ in ranked])
    texts = []
    for row, _ in ranked:
        chunk = chunks.get(row)
        if chunk is not None:
            article = reader.article(chunk.article_id)
            texts += [chunk.text, article.title if article is not None else ""]
    spelled = any(name.syllables for name in names)
    readings = readings_of({char for text in texts for char in text}) if spelled else {}
    found = {}
    for name in names:
        spellings = Counter(find_written(name, texts, readings) if name.syllables else [])
        spellings.update(glossed_as(name.written, texts))
        if spellings:
            found[name.written] = spellings.most_common(1)[0][0]
    return found


def _with_names(
    wording: EmbeddedWording, names: Mapping[str, str], embedder: Embedder
) -> EmbeddedWording:
    """``wording`` with the characters found for each name written in Latin letters: on
    the keyword side, and in place of the Latin spelling in the translation embedded."""
    keywords = f"{wording.keywords} {' '.join(names.values())}"
    translation = wording.translation
    if translation is None:
        return replace(wording, keywords=keywords)
    for written, characters in names.items():
        translation = translation.replace(written, characters)
    return replace(
        wording,
        keywords=keywords,
        translation=translation,
        translation_vector=embedder.embed_query(translation),
    )


def _unsure_notice(confidence: float, threshold: float, best: float) -> str | None:
    if confidence >= threshold:
        return None
    return (
        f"no passage is relevant enough (confidence {confidence:.2f} < {threshold:.2f}; "
        f"best cosine {best:.3f})"
    )


def search(reader: SearchIndex, embedder: Embedder, query: Query, plan: SearchPlan) -> SearchResult:
    """The ranked passages for an understood ``query``: inside its time window, newest
    first among the near-best for a recency word, or plainly ranked."""
    if query.time_window is not None:
        found = search_in_window(reader, embedder, query, plan)
    elif query.recency is not None:
        found = search_newest_first(reader, embedder, query, plan)
    else:
        found = search_index(reader, embedder, query.text, plan)
    return replace(found, understood=query)


def search_in_window(
    reader: SearchIndex, embedder: Embedder, query: Query, plan: SearchPlan
) -> SearchResult:
    """Search inside the date window a time expression named, with the expression taken
    out of the text that is embedded and matched ("上周中美谈了什么" asks 中美谈了什么
    within last week). When nothing in the window is relevant, the closest passages
    outside it come back marked ``outside_window``."""
    window = query.time_window
    assert window is not None
    inside = replace(
        plan.filters,
        since=parse_day(window.start.isoformat()),
        until=parse_day(window.end.isoformat(), end_of_day=True),
    )
    result = search_index(reader, embedder, query.text, replace(plan, filters=inside))
    if result.found:
        return replace(result, query=query.question, time_window=window)
    # outside the window the time expression filters nothing, so it counts as words again
    # ("2008年北京奥运会" asked of undated reference articles)
    outside = search_index(reader, embedder, query.question, plan)
    span = f"{window.start.isoformat()} – {window.end.isoformat()}"
    notice = f"nothing relevant in 时间范围 {span} ({window.expression})"
    if outside.hits:
        notice += "; the closest passages outside it are shown instead"
    return replace(
        outside,
        query=query.question,
        time_window=window,
        outside_window=bool(outside.hits),
        notice=notice if not outside.no_answer else f"{notice}; {outside.notice}",
    )


def search_newest_first(
    reader: SearchIndex, embedder: Embedder, query: Query, plan: SearchPlan
) -> SearchResult:
    """For a question asking for the latest news: the newest of the near-best passages
    first (``rag.search.recency``), from a wider list so that a newer passage just below
    the top k can move up."""
    wide = search_index(reader, embedder, query.text, replace(plan, k=max(plan.k, RECENCY_POOL)))
    if wide.no_answer:  # nothing is relevant: no newest-first among the references
        return replace(wide, hits=wide.hits[: plan.k])
    hits = newest_first(wide.hits, query.relevance)[: plan.k]
    return replace(wide, hits=tuple(hits), recency=query.recency)


def rank(
    reader: SearchIndex,
    wording: EmbeddedWording,
    mode: str,
    depth: int,
    allowed: list[int] | None,
    filters: SearchFilters | None = None,
) -> Ranking:
    """Rows by relevance for ``mode``; hybrid fuses the dense and keyword rankings, then
    the ranking of its first passages by their best sentence. A translated question
    ranks by both of its vectors, fused."""
    keywords = wording.keywords
    dense = [reader.rank_dense(wording.vector, depth, allowed, filters)]
    if wording.translation_vector is not None and mode != KEYWORD:
        dense.append(reader.rank_dense(wording.translation_vector, depth, allowed, filters))
    if mode == DENSE:
        return dense[0] if len(dense) == 1 else reciprocal_rank_fusion(dense)[:depth]
    if mode == KEYWORD:
        return reader.rank_keyword(keywords, depth, allowed, filters)
    lists = [*dense, reader.rank_keyword(keywords, depth, allowed, filters)]
    return rerank_by_sentence(reader, keywords, lists, reciprocal_rank_fusion(lists))


def rerank_by_sentence(
    reader: SearchIndex, query: str, lists: Sequence[Ranking], fused: Ranking
) -> Ranking:
    """``fused`` with its first ``SENTENCE_POOL`` rows re-fused with a third ranking: by
    the idf-weighted share of the question's terms in a passage's best sentence (title
    included).

    Dense and keyword scores are for a whole passage, and the question names the story
    (usually in the title and the lead), so both favour the lead passage; the passage
    whose one sentence holds most of the question is the one that answers it.
    """
    pool = fused[:SENTENCE_POOL]
    weights = reader.term_weights(query)
    if len(pool) < 2 or not weights:
        return fused
    chunks = reader.chunks([row for row, _ in pool])
    titles: dict[str, str] = {}
    coverage = {}
    for row, _ in pool:
        chunk = chunks.get(row)
        if chunk is None:
            coverage[row] = 0.0
            continue
        if chunk.article_id not in titles:
            article = reader.article(chunk.article_id)
            titles[chunk.article_id] = article.title if article is not None else ""
        coverage[row] = best_sentence_coverage(weights, chunk.text, titles[chunk.article_id])
    # a stable sort: passages that cover the question equally keep their fused order
    by_sentence = sorted(pool, key=lambda item: -coverage[item[0]])
    refused = reciprocal_rank_fusion([*lists, by_sentence])
    return [item for item in refused if item[0] in coverage] + fused[SENTENCE_POOL:]


def cap_per_article(
    reader: SearchIndex, ranked: Ranking, k: int, per_article: int, per_source: int = 0
) -> Ranking:
    """The first ``k`` rows, at most ``per_article`` from one article and ``per_source``
    from one outlet (0: no cap)."""
    if per_article <= 0 and per_source <= 0:
        return ranked[:k]
    chunks = reader.chunks([row for row, _ in ranked[: k * 20 + 50]])
    per: dict[str, int] = {}
    by_source: dict[str, int] = {}
    out = []
    for row, score in ranked:
        chunk = chunks.get(row)
        if chunk is None:
            continue
        if per_article > 0 and per.get(chunk.article_id, 0) >= per_article:
            continue
        outlet = _source_of(reader, chunk.article_id) if per_source > 0 else ""
        if per_source > 0 and by_source.get(outlet, 0) >= per_source:
            continue
        per[chunk.article_id] = per.get(chunk.article_id, 0) + 1
        by_source[outlet] = by_source.get(outlet, 0) + 1
        out.append((row, score))
        if len(out) == k:
            break
    return out


def _source_of(reader: SearchIndex, article_id: str) -> str:
    article = reader.article(article_id)
    if article is None:
        return ""
    return (article.source or site_of(article.url) or article_id).lower()


def _hits(reader: SearchIndex, query: str, qvec: np.ndarray, ranked: Ranking) -> list[Hit]:
    rows = [row for row, _ in ranked]
    chunks = reader.chunks(rows)
    cosines = reader.cosines(qvec, rows)
    hits = []
    for position, ((row, rank_score), cosine) in enumerate(zip(ranked, cosines, strict=True), 1):
        chunk = chunks[row]
        article = reader.article(chunk.article_id)
        if article is None:
            raise RagError(f"{reader.version_dir}: passage {row} has no article; rebuild the index")
        hits.append(
            Hit(
                rank=position,
                score=float(cosine),
                chunk=chunk,
                article=article,
                rank_score=float(rank_score),
                highlight=best_sentence(query, chunk.text),
            )
        )
    return hits


def reciprocal_rank_fusion(lists: Sequence[Ranking], k: int = RRF_K) -> Ranking:
    """Rows ranked by the sum of 1/(k + rank) over the input rankings."""
    fused: dict[int, float] = {}
    for ranking in lists:
        for position, (row, _score) in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + position)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
