"""rag.build.chunking's splitter cuts text exactly as langchain's RecursiveCharacterTextSplitter
(with the same separators, keep_separator="end", stripped whitespace) does: on the real
articles and on generated texts built from the separators themselves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.sample import DATA, ROOT

from rag.build.chunking import SEPARATORS, split_text
from rag.ingest import parse_article

langchain = pytest.importorskip("langchain_text_splitters")


def theirs(text: str, size: int, overlap: int) -> list[str]:
    return langchain.RecursiveCharacterTextSplitter(
        separators=list(SEPARATORS),
        chunk_size=size,
        chunk_overlap=overlap,
        keep_separator="end",
        strip_whitespace=True,
        length_function=len,
    ).split_text(text)


def articles() -> list[str]:
    paths = [*sorted((ROOT / "corpus" / "sample").iterdir())]
    paths += sorted((DATA / "news").iterdir())
    paths += sorted((DATA / "oped2").iterdir())
    texts = []
    for path in paths:
        if path.suffix.lower() in {".txt", ".md", ".html", ".htm"}:
            texts.append(parse_article(path, path.read_bytes())[0].text)
    return texts


@pytest.mark.parametrize(("size", "overlap"), [(300, 50), (120, 0), (500, 200), (40, 39)])
def test_the_real_articles_split_as_langchain_splits_them(size: int, overlap: int) -> None:
    texts = articles()
    assert len(texts) > 40
    for text in texts:
        assert split_text(text, size, overlap) == theirs(text, size, overlap)


# words, the separators, runs of spaces and line breaks: every branch of the recursion
PIECES = st.sampled_from(
    [*[s for s in SEPARATORS if s], "中美", "气候", "COP28", "a", "bc", "  ", "\n\n\n", "x" * 30]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(PIECES, max_size=120).map("".join),
    st.integers(min_value=1, max_value=80),
    st.data(),
)
def test_generated_texts_split_as_langchain_splits_them(text: str, size: int, data) -> None:  # type: ignore[no-untyped-def]
    overlap = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert split_text(text, size, overlap) == theirs(text, size, overlap)
