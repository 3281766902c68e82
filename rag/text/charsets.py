"""Charset names as pages and files declare them, mapped to the codecs that decode them."""

from __future__ import annotations

# The supersets of the legacy Chinese charsets: GBK/GB2312 and Big5 (with Hong Kong's
# additions). A guess between encodings is a guess between these two.
GB_CODEC = "gb18030"
BIG5_CODEC = "big5hkscs"
# Declared names mapped to the superset codec that decodes everything the name covers.
CHARSET_ALIASES = {
    "gb2312": GB_CODEC,
    "gbk": GB_CODEC,
    "x-gbk": GB_CODEC,
    "gb18030": GB_CODEC,
    "big5": BIG5_CODEC,
    "big5-hkscs": BIG5_CODEC,
    "x-big5": BIG5_CODEC,
}
# <meta charset="gbk"> and <meta http-equiv="Content-Type" content="text/html; charset=gbk">
# up to the name, and the name itself (a group).
META_CHARSET = rb"""<meta[^>]+charset\s*=\s*["']?"""
CHARSET_NAME = rb"""([A-Za-z0-9_\-]+)"""


def codec_for(declared: str) -> str:
    """The codec to decode text declared as ``declared`` (any case) with: the superset
    for a legacy Chinese charset, else the name as given."""
    return CHARSET_ALIASES.get(declared.lower(), declared)
