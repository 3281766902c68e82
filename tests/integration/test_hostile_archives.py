"""Hostile archives, generated: whatever else a folder holds, building it indexes every
good article in it, fails only with a ``RagError``, prints no traceback, and an update
after more junk arrives loses nothing that was indexed.

Each example is a folder mixing the five real sample articles (copied, some re-encoded
as GB18030, Big5, UTF-16 with and without a byte-order mark, UTF-8 with one) with
hostile files: random bytes under source names, truncated and deeply nested HTML, NUL
bytes, header-only pages, empty and blank files, symlink loops (to a file, and links to
the folder's parent), dangling links, folders named like source files, and odd file
names (newlines, rich markup, a leading "-", spaces, bytes that are not UTF-8). One
explicit example adds a 10 MB single line. The five stories are found by searching for
a sentence from the second half of each, so a copy that cut a story short would show.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opencc import OpenCC
from support.sample import SAMPLE
from typer.testing import CliRunner, Result

from rag import Archive, Article, IngestFailure, RagError, SearchOptions, Settings
from rag.cli import app
from rag.errors import NothingToIndexError
from rag.text.paths import display_path

SAMPLE_FILES = sorted(SAMPLE.iterdir())
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "utf-16-le", "utf-16-be")
SUFFIXES = (".txt", ".html", ".htm", ".md", ".markdown", ".TXT", ".Html")
ODD_STEMS = (
    "x",
    "-x",
    "--help",
    "-",
    " spaced name ",
    "[bold]x",
    "[link=file:x]y",
    "new\nline",
    "tab\tname",
    "\udcff\udcfe-not-utf8",
    "中文 名",
    "$(echo hi)",
    "*?[",
    "%s%n",
    "'\"",
    "~",
    "\\back",
)
# "x.html" is a folder named like a source file, "\udcfe" a folder name that is not UTF-8
FOLDERS = ("", "", "", "sub", "x.html", "深/层/目录", "-dash", "[bold]", "\udcfe", "new\nline dir")
HUGE_LINE_BYTES = 10_000_000

runner = CliRunner()


@dataclass(frozen=True)
class Story:
    """One sample article as the reference index holds it."""

    file: Path
    article_id: str
    url: str
    probe: str  # a sentence from its second half


@dataclass(frozen=True)
class GoodCopy:
    """A sample article (``story`` indexes SAMPLE_FILES) saved in ``encoding``."""

    story: int
    encoding: str
    folder: str
    stem: str
    suffix: str


@dataclass(frozen=True)
class Junk:
    """One hostile entry: ``kind`` says what it is; ``story`` (the sample it damages),
    ``data`` (random bytes) and ``number`` (a cut, a depth, a position) parametrise it."""

    kind: str
    folder: str
    stem: str
    suffix: str
    story: int = 0
    data: bytes = b""
    number: int = 0


# Junk that can never become an article and must be reported as a failure.
ALWAYS_FAILS = {"empty", "blank", "nul", "self_loop", "link_pair", "dangling"}


@dataclass(frozen=True)
class ArchiveSpec:
    """One generated archive: what is there at the build, and what arrives before the update."""

    good: tuple[GoodCopy, ...]
    junk: tuple[Junk, ...]
    later_junk: tuple[Junk, ...]
    cli_glob: bool  # build through the CLI from "FOLDER/**" rather than FOLDER


stems = st.one_of(
    st.sampled_from(ODD_STEMS),
    st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="/\x00."),
        min_size=1,
        max_size=12,
    ),
)
folders = st.sampled_from(FOLDERS)
suffixes = st.sampled_from(SUFFIXES)

good_copies = st.builds(
    GoodCopy,
    story=st.integers(0, len(SAMPLE_FILES) - 1),
    encoding=st.sampled_from(ENCODINGS),
    folder=folders,
    stem=stems,
    suffix=suffixes,
)


NOTHING = st.just(b"")
ZERO = st.just(0)


def _junk(
    kind: str, data: st.SearchStrategy[bytes] = NOTHING, number: st.SearchStrategy[int] = ZERO
) -> st.SearchStrategy[Junk]:
    return st.builds(
        Junk,
        kind=st.just(kind),
        folder=folders,
        stem=stems,
        suffix=suffixes,
        story=st.integers(0, len(SAMPLE_FILES) - 1),
        data=data,
        number=number,
    )


junk_entries = st.one_of(
    _junk("random", st.binary(max_size=2048)),
    _junk("truncated", number=st.integers(1, 10_000)),
    _junk("nested", number=st.integers(300, 5000)),
    _junk("unclosed_nested", number=st.integers(300, 5000)),
    _junk("nul", number=st.integers(0, 10_000)),
    _junk("header_only"),
    _junk("empty"),
    _junk("blank"),
    _junk("self_loop"),
    _junk("link_pair"),
    _junk("dangling"),
    _junk("parent_links"),
    _junk("folder_named_like_file"),
)

archives = st.builds(
    ArchiveSpec,
    good=st.lists(good_copies, max_size=9).map(tuple)
    | st.lists(good_copies, min_size=5, max_size=9).map(tuple),
    junk=st.lists(junk_entries, max_size=10).map(tuple),
    later_junk=st.lists(junk_entries, min_size=1, max_size=6).map(tuple),
    cli_glob=st.booleans(),
)

MID_CHARACTER_CUT = SAMPLE_FILES[0].read_bytes().index("他强调需要".encode()) + 1

# Every story in more than one encoding, the 10 MB line, links to the parent folder.
BIG_EXAMPLE = ArchiveSpec(
    good=(
        GoodCopy(0, "gb18030", "", "-x", ".txt"),
        GoodCopy(1, "big5", "x.html", "[bold]x", ".html"),
        GoodCopy(2, "utf-16-le", "", "new\nline", ".txt"),
        GoodCopy(3, "utf-16", "\udcfe", "\udcff\udcfe-not-utf8", ".md"),
        GoodCopy(4, "utf-8-sig", "深/层/目录", " spaced name ", ".htm"),
        GoodCopy(0, "utf-16-be", "sub", "again", ".md"),
    ),
    junk=(
        Junk("huge_line", "", "huge", ".txt"),
        Junk("nested", "sub", "deep", ".html", number=5000),
        # cut inside a character near the end of the story's text: decoded as anything
        # but UTF-8 it would be longer than the whole story, and replace it
        Junk("truncated", "", "000", ".txt", number=MID_CHARACTER_CUT),
        Junk("parent_links", "sub", "up", ".html"),
        Junk("self_loop", "", "loop", ".md"),
        Junk("empty", "", "empty", ".txt"),
    ),
    later_junk=(
        Junk("nul", "", "nul", ".txt", number=50),
        Junk("random", "", "rand", ".html", data=bytes(range(256)) * 4),
    ),
    cli_glob=True,
)


@pytest.fixture(scope="module")
def stories(sample_archive: Archive) -> list[Story]:
    """Each sample file's article in the reference index and a sentence to search for."""
    to_simple, to_traditional = OpenCC("t2s"), OpenCC("s2t")
    articles: dict[str, Article] = {}
    for chunk in sample_archive.passages():
        detail = sample_archive.article(chunk.article_id)
        assert detail is not None
        articles[Path(detail.article.path or "").name] = detail.article
    assert sorted(articles) == [f.name for f in SAMPLE_FILES]
    found = []
    for file in SAMPLE_FILES:
        article = articles[file.name]
        half = article.text[len(article.text) // 2 :]
        sentences = [s.strip() for s in re.split(r"(?<=[。！？])", half)]
        # a sentence that survives a Big5 round trip, so every copy can be searched for it
        usable = [
            s
            for s in sentences
            if 15 <= len(s) <= 80 and to_simple.convert(to_traditional.convert(s)) == s
        ]
        assert usable, file.name
        found.append(Story(file, article.id, article.url or "", max(usable, key=len)))
    return found


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "big5":  # a Big5 archive holds Traditional text
        return OpenCC("s2t").convert(text).encode("big5hkscs", errors="xmlcharrefreplace")
    return text.encode(encoding)


def _place(root: Path, folder: str, name: str) -> Path:
    parent = root / folder if folder else root
    parent.mkdir(parents=True, exist_ok=True)
    return parent / name


def write_good(root: Path, copies: tuple[GoodCopy, ...], tag: str) -> None:
    for n, copy in enumerate(copies):
        text = SAMPLE_FILES[copy.story].read_text(encoding="utf-8")
        path = _place(root, copy.folder, f"{copy.stem}{tag}{n}{copy.suffix}")
        path.write_bytes(_encode(text, copy.encoding))


def write_junk(root: Path, entries: tuple[Junk, ...], tag: str) -> list[Path]:
    """Write the hostile entries; returns the paths that must be reported as failures."""
    must_fail = []
    for n, junk in enumerate(entries):
        path = _place(root, junk.folder, f"{junk.stem}{tag}{n}{junk.suffix}")
        kind = junk.kind
        sample = SAMPLE_FILES[junk.story].read_bytes()
        if kind == "random":
            path.write_bytes(junk.data)
        elif kind == "truncated":  # may cut inside a UTF-8 character, or inside the header
            path.write_bytes(sample[: junk.number % len(sample)])
        elif kind in ("nested", "unclosed_nested"):
            closing = "</div>" * junk.number if kind == "nested" else ""
            body = "<div>" * junk.number + "深层嵌套的一段文字，解析器不能因此崩溃。" + closing
            path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
        elif kind == "nul":
            at = junk.number % len(sample)
            path.write_bytes(sample[:at] + b"\x00" + sample[at:])
        elif kind == "header_only":
            path.write_bytes(sample.split(b"------", 1)[0] + b"------\n")
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "blank":
            path.write_bytes(b" \n\t\r\n   \n")
        elif kind == "self_loop":
            os.symlink(path.name, path)
        elif kind == "link_pair":
            other = path.with_name("pair-" + path.name)
            os.symlink(other.name, path)
            os.symlink(path.name, other)
            must_fail.append(other)
        elif kind == "dangling":
            # each its own missing target: two links to one target are one file, and the
            # build rightly reports that file once
            os.symlink("does-not-exist-" + path.name, path)
        elif kind == "parent_links":  # two links to the folder above: glob's ** explodes
            os.symlink("..", path.with_name(path.name + "-up1"))
            os.symlink("..", path.with_name(path.name + "-up2"))
            continue
        elif kind == "folder_named_like_file":
            (path / "inner.md").mkdir(parents=True)
            continue
        elif kind == "huge_line":
            line = "一条很长的线，没有换行。" * (HUGE_LINE_BYTES // 36)
            path.write_text("标题\n" + line, encoding="utf-8")
        else:
            raise AssertionError(kind)
        if kind in ALWAYS_FAILS:
            must_fail.append(path)
    return must_fail


@contextlib.contextmanager
def example_dir(base: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def indexed_articles(archive: Archive) -> dict[str, Article]:
    """Every article of the live version, by id."""
    ids = {chunk.article_id for chunk in archive.passages()}
    articles: dict[str, Article] = {}
    for article_id in ids:
        detail = archive.article(article_id)
        assert detail is not None, article_id
        articles[article_id] = detail.article
    assert archive.stats().articles == len(articles)
    return articles


def check_stories(archive: Archive, included: list[Story]) -> dict[str, Article]:
    """Each included story is indexed once, whole, and a search for its sentence finds it."""
    to_simple = OpenCC("t2s")
    articles = indexed_articles(archive)
    for story in included:
        assert story.article_id in articles, f"{story.file.name} is not indexed"
        article = articles[story.article_id]
        assert story.probe in to_simple.convert(article.text), (
            f"{story.file.name}: indexed text lost {story.probe!r}"
        )
        carrying_url = [a for a in articles.values() if story.url in a.urls]
        assert len(carrying_url) == 1, f"{story.file.name} indexed {len(carrying_url)} times"
        hits = archive.search(story.probe, SearchOptions(k=5, min_score=0.0)).hits
        assert story.article_id in [h.article.id for h in hits], (
            f"searching {story.probe!r} does not find {story.file.name}"
        )
    return articles


def check_failures_reported(failures: Sequence[IngestFailure], must_fail: list[Path]) -> None:
    reported = {f.path for f in failures}
    for path in must_fail:
        assert display_path(str(path)) in reported, f"{display_path(str(path))} not reported"


def run_cli(args: list[str], cache: Path) -> Result:
    """The CLI in-process; asserts it printed no traceback and one line per warning."""
    result = runner.invoke(app, args, env={"RAG_CACHE_DIR": str(cache)})
    text = result.output
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    for line in result.stderr.splitlines():
        assert line.startswith(("warning: ", "error: ")), f"stray stderr line {line!r}"
    return result


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """What the examples held and how the builds went; printed at the end (pytest -s)."""
    counts: Counter[str] = Counter()
    yield counts

    def part(prefix: str) -> str:
        found = sorted(
            (k.removeprefix(prefix), n) for k, n in counts.items() if k.startswith(prefix)
        )
        return ", ".join(f"{name} {n}" for name, n in found)

    print(
        f"\nhostile archives: {counts['examples']} examples, {counts['refused']} refused "
        f"(NothingToIndexError), {counts['builds']} builds + updates, "
        f"{counts['failures']} bad files reported (build + update)\n"
        f"  good copies: {part('good:')}\n  hostile entries: {part('junk:')}"
    )


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(spec=BIG_EXAMPLE)
@given(spec=archives)
def test_hostile_archive_builds_and_updates_without_losing_articles(
    spec: ArchiveSpec,
    stories: list[Story],
    work_dir: Path,
    embedding_cache: Path,
    tally: Counter[str],
) -> None:
    included = [stories[i] for i in sorted({c.story for c in spec.good})]
    tally["examples"] += 1
    tally.update(f"good:{c.encoding}" for c in spec.good)
    tally.update(f"junk:{j.kind}" for j in spec.junk + spec.later_junk)
    with example_dir(work_dir) as tmp:
        folder = tmp / "archive"
        folder.mkdir()
        write_good(folder, spec.good, "-g")
        must_fail = write_junk(folder, spec.junk, "-j")

        archive = Archive(Settings(index_dir=tmp / "index", cache_dir=embedding_cache))
        printed = io.StringIO()
        try:
            with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
                report = archive.build([str(folder)])
        except RagError as exc:
            # only a folder with no good article may fail, and only because nothing was read
            assert not included and isinstance(exc, NothingToIndexError), repr(exc)
            assert "Traceback" not in printed.getvalue()
            refused = run_cli(
                ["index", "build", str(folder), "--index", str(tmp / "cli")], embedding_cache
            )
            assert refused.exit_code == 1
            assert [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
            tally["refused"] += 1
            return
        assert "Traceback" not in printed.getvalue()
        check_failures_reported(report.failures, must_fail)
        before = check_stories(archive, included)
        assert report.articles == len(before)

        # the same folder through the CLI, as a path or as a ** pattern
        target = f"{folder}{os.sep}**" if spec.cli_glob else str(folder)
        cli_index = tmp / "cli-index"
        built = run_cli(
            ["index", "build", target, "--index", str(cli_index), "--json"], embedding_cache
        )
        assert built.exit_code == 0, built.output
        assert json.loads(built.stdout)["articles"] == len(before)
        for story in included:
            asked = run_cli(
                [
                    "ask",
                    story.probe,
                    "--index",
                    str(cli_index),
                    "--json",
                    "--min-score",
                    "0",
                    "--no-answer",
                ],
                embedding_cache,
            )
            assert asked.exit_code == 0, asked.output
            hit_ids = [h["article_id"] for h in json.loads(asked.stdout)["hits"]]
            assert story.article_id in hit_ids, f"rag ask does not find {story.file.name}"

        # more junk arrives; an update keeps everything
        must_fail += write_junk(folder, spec.later_junk, "-later")
        with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
            updated = archive.update()
        assert "Traceback" not in printed.getvalue()
        check_failures_reported(updated.failures, must_fail)
        tally["builds"] += 1
        tally["failures"] += report.failed + updated.failed
        after = check_stories(archive, included)
        assert set(before) <= set(after), "an update after junk arrived lost articles"
        for article_id, article in before.items():
            assert after[article_id].text == article.text or len(after[article_id].text) > len(
                article.text
            ), f"{article.title}: text cut short by the update"

        cli_updated = run_cli(
            ["index", "update", str(folder), "--index", str(cli_index), "--json"], embedding_cache
        )
        assert cli_updated.exit_code == 0, cli_updated.output
        assert json.loads(cli_updated.stdout)["articles"] == len(after)
