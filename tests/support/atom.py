"""An Atom document checked two ways: against RFC 4287's RELAX NG grammar (lxml, the
grammar converted from its compact syntax by rnc2rng) with the RFC's two Schematron rules
checked by hand, and read by feedparser as a feed reader would."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

GRAMMAR = Path(__file__).parent.parent / "data" / "atom-rfc4287.rnc"
ATOM = "{http://www.w3.org/2005/Atom}"


@functools.cache
def _relax_ng() -> Any:
    import rnc2rng
    from lxml import etree

    rng = rnc2rng.dumps(rnc2rng.loads(GRAMMAR.read_text(encoding="utf-8")))
    # rnc2rng declares the grammar's empty "local" prefix, which XML forbids; it is only
    # used as <nsName ns=""/>, which needs no declaration
    rng = rng.replace('xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode("utf-8")))


def check_atom(body: bytes) -> Any:
    """The feed as feedparser reads it, once the document is valid Atom (else AssertionError)."""
    import feedparser
    from lxml import etree

    document = etree.fromstring(body)
    grammar = _relax_ng()
    assert grammar.validate(document), grammar.error_log
    entries = document.findall(f"{ATOM}entry")
    if document.find(f"{ATOM}author") is None:
        assert all(e.find(f"{ATOM}author") is not None for e in entries), "an entry lacks an author"
    for entry in entries:
        alternate = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert alternate or entry.find(f"{ATOM}content") is not None, (
            "entry without link or content"
        )
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed
