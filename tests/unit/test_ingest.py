"""Ingest on the real sample articles and oped2 pages, with real trafilatura."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.sample import ROOT

from rag.archive import Archive
from rag.config import Settings
from rag.errors import IngestError
from rag.index.local.reader import IndexReader
from rag.ingest import decode_bytes, discover_sources, load_article
from rag.records import IngestFailure, SourceFile
from rag.text.paths import display_path

SAMPLES = sorted((ROOT / "corpus" / "sample").glob("*.txt"))
OPED2 = ROOT / "tests" / "data" / "oped2"
RFI_20231115 = ROOT / "corpus" / "sample" / "000_ea12142fd580669e.txt"
VOA_20211110 = ROOT / "corpus" / "sample" / "003_f2ea91ec86ce10e1.txt"

BOILERPLATE = ("获取更多RSS", "同一主题", "Facebook", "Twitter", "分享", "feedx", "15/11/2023")


def test_five_samples_are_present() -> None:
    assert len(SAMPLES) == 5


def test_rfi_seed_header_gives_title_url_and_aware_time() -> None:
    article, warnings = load_article(RFI_20231115)
    assert warnings == []
    assert article.title == "中美气候合作声明有何新意？"
    assert article.url is not None and article.url.startswith("https://www.rfi.fr/cn/")
    assert article.published == datetime.fromtimestamp(1700063101, tz=UTC)
    assert article.published.tzinfo is not None
    assert article.published.date().isoformat() == "2023-11-15"
    assert article.source == "rfi.fr"
    assert article.urls == (article.url,)
    assert article.dates == (article.published,)
    assert "以协商一致方式达成全球盘点决定" in article.text
    assert len(article.id) == 16 and len(article.content_hash) == 64


def test_voa_seed_source_is_its_domain() -> None:
    article, _ = load_article(VOA_20211110)
    assert article.source == "voachinese.com"
    assert article.url == "https://www.voachinese.com/a/US-China-climate-20211110/6308112.html"
    assert article.published is not None and article.published.year == 2021


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_text_has_no_boilerplate(path: Path) -> None:
    article, _ = load_article(path)
    assert len(article.text) > 300
    for marker in BOILERPLATE:
        assert marker not in article.text, marker
    lines = article.text.split("\n")
    assert len(lines) >= 4, "paragraphs must stay one per line"
    assert all(line == line.strip() and line for line in lines)


@pytest.mark.parametrize("path", sorted(OPED2.glob("*.md")), ids=lambda p: p.name)
def test_oped2_pages_have_front_matter_metadata_and_clean_text(path: Path) -> None:
    article, warnings = load_article(path)
    assert warnings == []
    assert article.title and article.url and article.url.startswith("https://")
    assert article.published is not None and article.published.tzinfo is not None
    assert article.author and article.tags
    for marker in ("评论", "發表評論", "分享到", "Facebook", "Twitter", "登录", "Leave a Reply"):
        assert marker not in article.text, marker
    assert "<" not in article.text and "&nbsp;" not in article.text


def test_front_matter_fields_are_read() -> None:
    article, _ = load_article(OPED2 / "pao-pao_2015-03-26.md")
    assert article.title == "网络身份证在寻求商业模式"
    assert article.url == "https://pao-pao.net/article/402"
    assert article.author == "王海涛"
    assert article.tags == ("泡泡",)
    assert article.published == datetime.fromisoformat("2015-03-26T09:43:16+01:00")
    assert article.source == "pao-pao.net"
    # the page's comment thread is spam; none of it may reach the text
    assert "网民对实名制的抵触" in article.text


def test_pretty_printed_html_keeps_sentences_whole() -> None:
    article, _ = load_article(OPED2 / "pao-pao_2015-03-26.md")
    assert any(len(line) > 100 for line in article.text.split("\n"))
    assert not any(line.endswith(("，", "、")) for line in article.text.split("\n"))


def test_front_matter_with_seed_header_inside() -> None:
    article, warnings = load_article(OPED2 / "matters_2020-10-19.md")
    assert warnings == []
    assert article.title.startswith("[臺灣小事]")
    assert article.source == "matters.news"


def test_naive_front_matter_date_is_utc(tmp_path: Path) -> None:
    page = tmp_path / "naive.md"
    page.write_text(
        "---\ntitle: 标题\ndate: 2020-05-23 10:00:00\ntags: a, b\n---\n"
        "# 标题\n\n正文**第一段**。\n",
        "utf-8",
    )
    article, warnings = load_article(page)
    assert warnings == []
    assert article.published == datetime(2020, 5, 23, 10, tzinfo=UTC)
    assert article.tags == ("a", "b")
    assert article.text == "标题\n正文第一段。"


def test_malformed_front_matter_warns_and_still_loads(tmp_path: Path) -> None:
    page = tmp_path / "bad.md"
    page.write_text("---\ntitle: [unclosed\n---\n一段正文，足够长的内容。\n", "utf-8")
    article, warnings = load_article(page)
    assert article.text == "一段正文，足够长的内容。"
    assert len(warnings) == 1 and "front matter" in warnings[0]


def test_plain_text_title_is_first_short_line(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("\n标题在这里\r\n\r\n第一段。\r\n第二段。", "utf-8")
    article, _ = load_article(short)
    assert article.title == "标题在这里"
    assert article.text == "标题在这里\n第一段。\n第二段。"
    long_first = tmp_path / "long-first-line.txt"
    long_first.write_text("很" * 200 + "\n第二行。", "utf-8")
    assert load_article(long_first)[0].title == "long-first-line"


def test_plain_html_uses_trafilatura_metadata(tmp_path: Path) -> None:
    html = RFI_20231115.read_text("utf-8").split("------\n", 1)[1]
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><title>中美气候合作声明</title><meta property="og:site_name" content="RFI">'
        '<link rel="canonical" href="https://www.rfi.fr/cn/x"></head><body class="comments-open">'
        f"<article>{html}</article></body></html>",
        "utf-8",
    )
    article, _ = load_article(page)
    assert article.title == "中美气候合作声明"
    assert article.url == "https://www.rfi.fr/cn/x"
    assert article.source == "RFI"
    assert "以协商一致方式达成全球盘点决定" in article.text


def _traditional(text: str) -> str:
    from opencc import OpenCC

    return OpenCC("s2t").convert(text)


@pytest.mark.parametrize("encoding", ["gb18030", "big5"])
def test_legacy_chinese_encodings_decode_to_the_same_text(tmp_path: Path, encoding: str) -> None:
    source = RFI_20231115.read_text("utf-8")
    if encoding == "big5":
        source = _traditional(source)
    utf8 = tmp_path / "utf8.txt"
    utf8.write_text(source, "utf-8")
    legacy = tmp_path / f"{encoding}.txt"
    legacy.write_bytes(source.encode(encoding, errors="ignore"))
    expected = source.encode(encoding, errors="ignore").decode(encoding)
    assert decode_bytes(legacy.read_bytes()) == expected
    original, _ = load_article(utf8)
    copy, _ = load_article(legacy)
    if encoding == "gb18030":
        assert copy.text == original.text
    else:
        assert copy.text == load_article(_write(tmp_path / "expected.txt", expected))[0].text
    assert copy.title == original.title


def test_declared_charset_is_honoured() -> None:
    page = '<html><head><meta charset="gbk"></head><body><p>气候变化</p></body></html>'
    assert decode_bytes(page.encode("gbk")) == page


def test_binary_input_is_refused() -> None:
    with pytest.raises(IngestError, match="binary file, not text"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_discover_files_folders_globs_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in (
        "a/1.txt",
        "a/b/2.html",
        "a/b/3.md",
        "a/.secret.txt",
        ".hidden/4.txt",
        "a/skip.pdf",
    ):
        _write(tmp_path / rel, "x")
    found, failures = discover_sources([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/1.txt",
        "a/b/2.html",
        "a/b/3.md",
    ]
    assert failures == []
    found, failures = discover_sources(
        [f"{tmp_path}/**/*.md", f"{tmp_path}/**/*.nothing", str(tmp_path / "gone.txt")]
    )
    assert [p.name for p in found] == ["3.md"]
    assert [f.reason for f in failures] == [
        "pattern matches no source files",
        "no such file or folder",
    ]
    assert all(f.skipped for f in failures)
    found, _ = discover_sources([str(tmp_path / "a" / "1.txt"), str(tmp_path / "a")])
    assert [p.name for p in found] == ["1.txt", "2.html", "3.md"], "no file twice"


def test_discover_sample_glob() -> None:
    found, failures = discover_sources([str(ROOT / "corpus" / "**" / "*.txt")])
    assert found == SAMPLES and failures == []


def test_display_path_is_one_line() -> None:
    name = os.fsdecode(b"/tmp/bad\xff\xfename\nwith newline.txt")
    shown = display_path(name)
    assert "\n" not in shown
    assert shown == "/tmp/bad\\xff\\xfename\\nwith newline.txt"
    assert display_path(Path("普通 文件.txt")) == "普通 文件.txt"


def indexed_sources(settings: Settings) -> dict[str, SourceFile]:
    """The source files the live version was built from, by file name."""
    reader = IndexReader(settings.index_dir)
    try:
        return {Path(source.path).name: source for source in reader.meta.sources()}
    finally:
        reader.close()


def failures_by_name(failures: tuple[IngestFailure, ...]) -> dict[str, list[IngestFailure]]:
    grouped: dict[str, list[IngestFailure]] = {}
    for failure in failures:
        grouped.setdefault(Path(failure.path).name, []).append(failure)
    return grouped


def test_bad_inputs_give_one_line_reasons_and_do_not_stop_the_rest(
    tmp_path: Path, hash_settings: Settings
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    seed = RFI_20231115.read_text("utf-8")
    shutil.copy(RFI_20231115, src / "good.txt")
    _write(src / "empty.txt", "")
    (src / "binary.html").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    with (src / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    _write(src / "truncated.txt", seed[: len(seed) // 2])
    _write(
        src / "malformed.html",
        "<html><body><p>第一段没有结束<div><p>第二段</span></b>" + "气候合作" * 40,
    )
    _write(
        src / "broken-header.txt",
        seed.replace("<!--1700063101000-->", "<!--17000631O1000-->", 1),
    )
    _write(src / "no-text.html", "<html><body><div></div></body></html>")
    _write(src / "with space.txt", seed)
    odd_names = ["new\nline.txt", os.fsdecode(b"latin\xe9.txt")]
    for name in odd_names:
        try:
            _write(src / name, seed)
        except (OSError, UnicodeError):  # a file system that refuses such names
            pytest.skip("file system refuses odd file names")
    unreadable = _write(src / "unreadable.txt", seed)
    unreadable.chmod(0)

    # the build's own loop reads them: the bad files are reported, the rest indexed
    report = Archive(hash_settings).build([str(src)])
    failures = report.failures
    assert all("\n" not in f.reason and "\n" not in f.path for f in failures)
    grouped = failures_by_name(failures)

    def reason(name: str) -> str:
        (failure,) = grouped[name]
        assert failure.skipped
        return failure.reason

    assert reason("empty.txt") == "empty file"
    assert reason("binary.html") == "binary file, not text"
    assert reason("huge.txt") == "file is 52.4 MB, over the 20 MB limit"
    assert reason("no-text.html") == "no extractable text"
    if os.geteuid() != 0:
        assert reason("unreadable.txt") == "permission denied"
    assert report.failed == (4 if os.geteuid() == 0 else 5)
    assert report.failed == sum(1 for f in failures if f.skipped)

    sources = indexed_sources(hash_settings)
    for name in ("good.txt", "truncated.txt", "malformed.html", "with space.txt"):
        assert name in sources and name not in grouped, name
    warnings = grouped["broken-header.txt"]
    assert all(not w.skipped for w in warnings)
    reasons = [w.reason for w in warnings]
    assert reasons[0] == "seed header: publication time '17000631O1000' is not a Unix time in ms"
    assert reasons[1:] == ["metadata recovered from the page: date"]
    article = sources["broken-header.txt"].article
    assert article.title == "中美气候合作声明有何新意？"
    assert article.published is not None  # recovered from the page by trafilatura
    assert "以协商一致方式达成全球盘点决定" in article.text
    shown = [f.path for f in failures] + [display_path(s.path) for s in sources.values()]
    assert any(s.endswith("new\\nline.txt") for s in shown)
    assert any(s.endswith("latin\\xe9.txt") for s in shown)
    # root can read the chmod-000 file, so it loads as an eighth article there
    assert len(sources) == (8 if os.geteuid() == 0 else 7)
    assert report.articles + report.duplicates_merged == len(sources)


def test_file_vanishing_after_discovery_is_skipped(
    tmp_path: Path, hash_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    doomed = _write(src / "doomed.txt", RFI_20231115.read_text("utf-8"))
    kept = _write(src / "kept.txt", RFI_20231115.read_text("utf-8"))
    import rag.build.sources as sources_stage

    real_discover = sources_stage.discover_sources

    def discover_then_delete(paths):  # type: ignore[no-untyped-def]
        found = real_discover(paths)
        doomed.unlink()
        return found

    monkeypatch.setattr(sources_stage, "discover_sources", discover_then_delete)
    report = Archive(hash_settings).build([str(src)])
    (failure,) = report.failures
    assert failure.path.endswith("doomed.txt") and failure.skipped
    assert failure.reason == "file vanished before it could be read"
    assert report.failed == 1 and report.articles == 1
    assert [s.path for s in indexed_sources(hash_settings).values()] == [str(kept)]


def test_load_article_reasons_are_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="empty file"):
        load_article(_write(tmp_path / "blank.md", "  \n\n"))
    with pytest.raises(IngestError, match=r"over the 0\.001 MB limit"):
        load_article(RFI_20231115, max_bytes=1000)


def test_the_slow_date_search_runs_only_when_the_header_has_no_date(tmp_path: Path) -> None:
    """A page whose only date is "1 December 2023" in its text needs htmldate's last-resort
    search: it runs for a file without a date in its header, not for one with a date."""
    from rag.ingest import load_article
    from rag.ingest.clean import clean_html

    body = "<p>" + "中美两国在气候大会上发表联合声明，承诺加速能源转型。" * 8 + "</p>"
    page = f"<html><body><article><h1>气候</h1><span>1 December 2023</span>{body}</article></body></html>"
    assert clean_html(page).date == "2023-12-01"
    assert clean_html(page, need_date=False).date is None
    assert clean_html(page, need_date=False).text == clean_html(page).text

    bare = tmp_path / "bare.html"
    bare.write_text(page, encoding="utf-8")
    article, _ = load_article(bare)
    assert article.published is not None and article.published.date().isoformat() == "2023-12-01"
    dated = tmp_path / "dated.md"
    dated.write_text(f"---\ntitle: 气候\ndate: 2024-05-06\n---\n{page}", encoding="utf-8")
    article, _ = load_article(dated)
    assert article.published is not None and article.published.date().isoformat() == "2024-05-06"
