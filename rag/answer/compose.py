"""Cited answers over a search result: extractive (default, no LLM) or written by an LLM.

Either way the passages are the ranked hits and ``[n]`` is hit rank ``n``. An extractive
answer only quotes sentences of those passages; an LLM answer is checked afterwards,
and a marker that points at no passage, or a sentence with no marker, is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.answer.citations import check_citations, citation_problems, cited
from rag.answer.span import answer_phrase, has_phrase_of_type, question_type
from rag.config import Settings
from rag.embed import Embedder
from rag.errors import LLMError
from rag.records import Answer, AnswerSentence, Hit, Query, SearchResult
from rag.text.normalize import CLOSING_CHARS, SENTENCE_END_CHARS, normalize_for_matching
from rag.text.sentences import lexical_overlap, sentence_spans

MAX_SENTENCES = 3
# Only sentences of the best few passages are embedded: one batch of ~20 short texts.
MAX_PASSAGES = 3
MAX_CANDIDATES = 16
# A Chinese question's word overlap already puts the answering sentence among the first
# few candidates: on all 1,000 CMRC 2018 trial questions answers were the same with 16,
# 12 or 10 candidates (contains gold 0.797), 0.796 with 8. For an English question over
# Chinese text the overlap is ~0 and only the cosine ranks: 100 translated questions
# 0.42 with 16, 0.38 with 10. Fewer sentences is most of the cold `rag ask` time.
MAX_CANDIDATES_CHINESE = 10
MIN_SENTENCE_CHARS = 8
# Score = cosine(question, sentence) + LEXICAL_WEIGHT * share of the question's words
# or character bigrams in the sentence. e5 cosines sit in a narrow band (~0.75-0.95);
# the lexical term separates a sentence that repeats the question's terms from one
# that is merely on topic. For an English question over Chinese text it is ~0, and
# the cosine alone ranks.
LEXICAL_WEIGHT = 0.3
# Added when a sentence holds a phrase of the kind the question asks for (rag.answer.span).
TYPE_WEIGHT = 0.1
# Taken off per rank below the first passage: retrieval already judged the passages.
# Both chosen on half of CMRC 2018 by scripts/tune_answer.py (README: answer quality).
RANK_PENALTY = 0.02
# A sentence scoring this far below the best one is not added to the answer.
SCORE_MARGIN = 0.12
NEAR_DUPLICATE = 0.7
_SENTENCE_END = SENTENCE_END_CHARS + CLOSING_CHARS + "."


@dataclass(frozen=True)
class _Candidate:
    text: str
    hit: Hit
    position: int
    fragment: bool


def understood(result: SearchResult) -> Query:
    """The question a result answers, as the query stage understood it."""
    if result.understood is None:
        raise ValueError("answers are made from a result of Archive.search (it carries the query)")
    return result.understood


def no_answer(result: SearchResult) -> Answer:
    """The answer when retrieval found nothing relevant to answer from."""
    return Answer(
        question=understood(result).question,
        mode="none",
        text="",
        found=False,
        notice=result.notice or "no passage in the index answers this question",
        confidence=result.confidence,
    )


def extractive_answer(
    result: SearchResult,
    embedder: Embedder,
    max_sentences: int = MAX_SENTENCES,
) -> Answer:
    """Up to ``max_sentences`` sentences quoted from the top passages, each cited ``[n]``.

    Sentences are scored by embedding similarity to the question (so an English question
    over Chinese passages works), word/bigram overlap and whether they hold a phrase of
    the kind the question asks for (a date for 何时, a number for 多少 ...); they are
    deduplicated across overlapping passages and listed best first, and a further
    sentence is added only when it scores nearly as well as the first. Each sentence
    carries the span of its answer phrase when one can be located.
    """
    if result.no_answer or not result.hits:
        return no_answer(result)
    candidates = _candidates(result.hits[:MAX_PASSAGES])
    if not candidates:
        return no_answer(result)
    query = understood(result)
    question = query.question
    scored = _scored(query, result, candidates, embedder)
    chosen = _choose(scored, max_sentences)
    sentences = tuple(
        AnswerSentence(c.text, (c.hit.rank,), highlight=answer_phrase(question, c.text))
        for c in chosen
    )
    return Answer(
        question=question,
        mode="extractive",
        text=join_cited(sentences),
        sentences=sentences,
        citations=cited(sentences, result.hits),
        confidence=result.confidence,
    )


def _scored(
    query: Query, result: SearchResult, candidates: list[_Candidate], embedder: Embedder
) -> list[tuple[float, _Candidate]]:
    """Candidates with their scores, best first (ties: the better passage, then earlier)."""
    question = query.question
    overlap = {c: lexical_overlap(question, c.text) for c in candidates}
    # Embedding dominates the cost (~one e5 pass per sentence), so long passages are
    # capped: the sentences sharing most words with the question, then the earliest.
    candidates = sorted(candidates, key=lambda c: (-overlap[c], c.hit.rank, c.position))
    candidates = candidates[: MAX_CANDIDATES_CHINESE if query.language == "zh" else MAX_CANDIDATES]
    reuse = result.query_vector is not None and question == result.query
    qvec = result.query_vector if reuse else embedder.embed_query(question)
    cosines = embedder.embed_passages([c.text for c in candidates]) @ qvec
    kind = question_type(question)
    return sorted(
        (
            (
                float(cos)
                + LEXICAL_WEIGHT * overlap[c]
                + TYPE_WEIGHT * has_phrase_of_type(kind, c.text)
                - RANK_PENALTY * (c.hit.rank - 1),
                c,
            )
            for cos, c in zip(cosines, candidates, strict=True)
        ),
        key=lambda pair: (-pair[0], pair[1].hit.rank, pair[1].position),
    )


def _choose(scored: list[tuple[float, _Candidate]], max_sentences: int) -> list[_Candidate]:
    """The best sentence, then others scoring within ``SCORE_MARGIN`` of it, no repeats."""
    best = scored[0][0]
    chosen: list[_Candidate] = []
    for score, candidate in scored:
        if len(chosen) == max_sentences or score < best - SCORE_MARGIN:
            break
        if any(_similar(candidate.text, c.text) for c in chosen):
            continue
        chosen.append(candidate)
    return chosen


def _candidates(hits: Sequence[Hit]) -> list[_Candidate]:
    """Whole sentences of ``hits``, first occurrence only; cut-off edges only if nothing else."""
    seen: set[str] = set()
    out: list[_Candidate] = []
    for hit in hits:
        chunk, article_text = hit.chunk, hit.article.text
        spans = sentence_spans(chunk.text)
        for i, (start, end) in enumerate(spans):
            text = chunk.text[start:end]
            key = _key(text)
            if len(key) < MIN_SENTENCE_CHARS or key in seen:
                continue
            seen.add(key)
            cut_start = i == 0 and chunk.start > 0 and _continues(article_text, chunk.start)
            cut_end = (
                i == len(spans) - 1
                and chunk.end < len(article_text.rstrip())
                and text[-1] not in _SENTENCE_END
            )
            out.append(_Candidate(text, hit, start, cut_start or cut_end))
    whole = [c for c in out if not c.fragment]
    return whole or out


def _continues(article_text: str, offset: int) -> bool:
    """True when ``offset`` falls inside a sentence of ``article_text``."""
    before = article_text[:offset].rstrip(" \t")
    return bool(before) and before[-1] not in _SENTENCE_END + "\n"


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize_for_matching(text))


def _bigrams(text: str) -> set[str]:
    key = _key(text)
    return {key[i : i + 2] for i in range(len(key) - 1)}


def _similar(a: str, b: str) -> bool:
    x, y = _bigrams(a), _bigrams(b)
    return bool(x and y) and len(x & y) / min(len(x), len(y)) >= NEAR_DUPLICATE


def join_cited(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences with their ``[n]`` markers, spaced as the script needs."""
    out = ""
    for sentence in sentences:
        marks = "".join(f"[{n}]" for n in sentence.citations)
        if out and (out[-1].isascii() or sentence.text[0].isascii()):
            out += " "
        out += sentence.text + marks
    return out


def llm_answer(
    result: SearchResult,
    settings: Settings,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """An answer written by the configured LLM from the hits, with its citations checked.

    Raises ``LLMError`` when the endpoint fails; never calls it when nothing was found.
    """
    from rag.answer.llm import ChatClient
    from rag.answer.prompting import render_messages

    if result.no_answer or not result.hits:
        return no_answer(result)
    query = understood(result)
    question = query.question
    client = ChatClient.from_settings(settings)
    prompt = render_messages(question, result.hits, "zh" if query.language == "zh" else "en")
    reply = client.stream_chat(prompt, on_token)
    sentences = check_citations(reply.text, len(result.hits))
    problems = [_cut_notice(reply.finish_reason, client.max_tokens), citation_problems(sentences)]
    return Answer(
        question=question,
        mode="llm",
        text=reply.text,
        sentences=sentences,
        citations=cited(sentences, result.hits),
        notice="; ".join(p for p in problems if p) or None,
        model=client.model,
        endpoint=client.url,
        finish_reason=reply.finish_reason,
        confidence=result.confidence,
    )


def _cut_notice(finish_reason: str | None, max_tokens: int) -> str | None:
    if finish_reason == "repetition":
        return "the model began repeating itself: its answer was cut where the repeat began"
    if finish_reason == "length":
        return f"the answer reached llm_max_tokens ({max_tokens}) and may stop mid-sentence"
    return None


def answer_question(
    result: SearchResult,
    embedder: Embedder,
    settings: Settings,
    use_llm: bool = False,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """The LLM answer when asked for and it works, else the extractive one.

    When the LLM fails the extractive answer comes back with the failure as its
    ``notice`` and in ``llm_error``: the user still gets a cited answer. An extractive
    answer to a question not in Chinese carries the English of the names and numbers
    it quotes (``rag.answer.gloss``).
    """
    if use_llm:
        try:
            return llm_answer(result, settings, on_token)
        except LLMError as exc:
            answer = replace(
                extractive_answer(result, embedder),
                notice=f"LLM failed, showing the extractive answer instead: {exc}",
                llm_error=str(exc),
            )
    else:
        answer = extractive_answer(result, embedder)
    if understood(result).language == "zh":
        return answer
    from rag.answer.gloss import with_glosses

    return with_glosses(answer, result, settings.model_cache_dir)
