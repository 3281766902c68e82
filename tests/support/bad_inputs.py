"""A corpus with one file of every kind of bad input beside the sample articles."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support.sample import SAMPLE


def make_bad_corpus(root: Path) -> dict[str, str]:
    """The sample articles plus one file of every kind of bad input; returns name -> expected reason."""
    shutil.copytree(SAMPLE, root)
    seed = (SAMPLE / "000_ea12142fd580669e.txt").read_text(encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.html").write_bytes(bytes(range(256)) * 40)
    with open(root / "huge.html", "wb") as handle:
        handle.write(b"<html><body>" + (b"<p>" + "长".encode() * 1000 + b"</p>") * 17_500)
    (root / "no-text.html").write_text("<html><body><div></div></body></html>", encoding="utf-8")
    (root / "broken-header.txt").write_text(
        seed.replace("<!--1700063101000-->", "<!--17000x-->"), "utf-8"
    )
    (root / "truncated.txt").write_text(seed[: len(seed) // 2], encoding="utf-8")
    (root / "gb18030.html").write_bytes(
        "<html><head><title>国标编码</title></head><body><p>这是一篇用国标编码保存的文章，"
        "讲的是北京的空气质量在冬季明显改善，市民出行更加方便。</p></body></html>".encode("gb18030")
    )
    (root / "big5.html").write_bytes(
        "<html><head><title>繁體編碼</title></head><body><p>這是一篇用大五碼保存的文章，"
        "講的是臺北的捷運系統在假日期間延長營運時間，方便市民出遊。</p></body></html>".encode(
            "big5"
        )
    )
    (root / "name with spaces.md").write_text(
        "# 标题\n\n带空格的文件名也能正常索引，内容完整。\n", "utf-8"
    )
    (root / "new\nline.txt").write_text(
        "换行文件名\n\n文件名里有换行符的文章也要正常处理。\n", "utf-8"
    )
    with open(os.fsencode(root) + b"/bad-\xff-name.txt", "wb") as handle:
        handle.write("非UTF-8文件名\n\n文件名不是合法的UTF-8字节序列。\n".encode())
    return {
        "empty.txt": "empty",
        "binary.html": "binary",
        "huge.html": "MB",
        "no-text.html": "no extractable text",
        "broken-header.txt": "header",
    }
