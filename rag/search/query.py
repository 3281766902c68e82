"""The query stage: a question understood once, before anything is searched.

``understand`` turns the question, the search options and the settings into a frozen
``Query``: its language, the date window a time expression names (and the text with
those words taken out), the recency word, and the thresholds that apply. Ranking, the
no-answer decision and the answer take that record; none of them looks at the raw
question's words for these again. The surfaces show what was understood from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from rag.config import Settings
from rag.errors import RagError
from rag.records import Query, SearchFilters, SearchOptions, Wording
from rag.search.no_answer import NoAnswerModel, load_model
from rag.search.recency import recency_word
from rag.search.timeexpr import find_time_window, without_expression
from rag.search.translate import reword
from rag.text.cedict import open_lexicon
from rag.text.normalize import language_of

EMPTY_QUESTION = 'the question is empty; ask something, e.g. rag ask "中美在COP28上承诺了什么"'


@dataclass(frozen=True)
class SearchPlan:
    """A fully resolved search: every option has its value (no settings left to consult)."""

    k: int
    mode: str
    per_article: int
    filters: SearchFilters
    # The cosine the best passage must reach; None: the calibrated ``no_answer`` decides.
    min_score: float | None
    per_source: int = 0
    # Gives every result a ``confidence``; decides the no-answer when ``min_score`` is None.
    no_answer: NoAnswerModel | None = None
    # The question's language ("zh" or "other"); None: taken from the searched text.
    language: str | None = None
    # The query's other wordings (``Query.wording``), and where to read the characters'
    # readings to find its names in Latin letters with
    wording: Wording = field(default_factory=Wording)
    readings_of: Callable[[Iterable[str]], Mapping[str, frozenset[str]]] | None = None


def understand(
    question: str, options: SearchOptions, settings: Settings, today: date | None = None
) -> Query:
    """What ``question`` asks, under ``options`` (unset ones take ``settings``).

    ``today`` is the reference date for time words when neither the options nor the
    settings name one (default: the real today).
    """
    asked = question.strip()
    if not asked:
        raise RagError(EMPTY_QUESTION)
    language = language_of(question)
    window = None
    if options.resolve_time and not (options.filters.since or options.filters.until):
        window = find_time_window(question, options.as_of or reference_date(settings, today))
    text = asked
    if window is not None and options.strip_time_words:
        text = without_expression(question, window).strip()
    recency = recency_word(question) if window is None and options.prefer_recent else None
    relevance = relevance_threshold(language, settings, options.min_score)
    return Query(
        question=asked,
        language=language,
        text=text,
        time_window=window,
        recency=recency,
        min_score=_answer_threshold(language, settings, options.min_score),
        relevance=relevance,
        no_answer_check=options.min_score != 0,
        wording=reword(text, language, settings.model_cache_dir, settings.translate_questions),
    )


def reference_date(settings: Settings, today: date | None = None) -> date:
    """The date time words are resolved against: the as_of setting, else today."""
    if settings.as_of:
        return date.fromisoformat(settings.as_of)
    return today or date.today()


def relevance_threshold(language: str, settings: Settings, min_score: float | None) -> float:
    """The cosine a passage must reach to count as relevant (timelines, recency, fallbacks)."""
    if min_score is not None:
        return min_score
    return settings.min_score_zh if language == "zh" else settings.min_score_other


def _answer_threshold(language: str, settings: Settings, min_score: float | None) -> float | None:
    """The cosine the best passage must reach to count as an answer, or None when the
    calibrated no-answer model decides (the default, when it is installed).

    An explicit ``min_score``, or a min_score_zh / min_score_other set in the settings
    for the question's language, wins over the model; so does the threshold for a
    language the model could not separate (its ``decides`` is false).
    """
    if min_score is not None:
        return min_score
    key = "min_score_zh" if language == "zh" else "min_score_other"
    chosen = settings.was_set(key) or getattr(settings, key) != getattr(Settings(), key)
    model = load_model()
    if chosen or model is None or not model.decides(language):
        return relevance_threshold(language, settings, None)
    return None


def no_answer_model(query: Query) -> NoAnswerModel | None:
    """The calibrated model that gives results a confidence, unless the check is off."""
    return load_model() if query.no_answer_check else None


def plan_search(query: Query, options: SearchOptions, settings: Settings) -> SearchPlan:
    """Every option resolved: the options' own values, else the settings'."""
    return SearchPlan(
        k=options.k if options.k is not None else settings.top_k,
        mode=options.mode or settings.mode,
        per_article=(
            options.per_article if options.per_article is not None else settings.per_article
        ),
        filters=options.filters,
        min_score=query.min_score,
        per_source=options.per_source if options.per_source is not None else settings.per_source,
        no_answer=no_answer_model(query),
        language=query.language,
        wording=query.wording,
        readings_of=(
            open_lexicon(settings.model_cache_dir).readings_of
            if query.wording.latin_names
            else None
        ),
    )
