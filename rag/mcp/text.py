"""The short text a tool result carries beside its structured content, for the model to
read: what a reader needs to use and cite each passage (rank, title, outlet, date, URL,
article_id, the passage), none of the offsets and scores the structured content holds.

Made from the structured content itself, so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any


def _day(value: str | None) -> str:
    return value[:10] if value else "undated"


def _window(window: dict[str, Any] | None) -> str | None:
    if window is None:
        return None
    line = f"Dates {window['start']} to {window['end']} ({window['expression']})"
    if window.get("outside"):
        line += ": nothing inside was relevant, so these passages are from outside it"
    return line + "."


def search_text(data: dict[str, Any]) -> str:
    """The passages of a search or ask result, best first, numbered as [n] cites them."""
    hits = data["hits"]
    lines = [f"{len(hits)} passages ({data['mode']}) for {data['query']!r}, best first."]
    lines += filter(None, [_window(data["time_window"])])
    if data["recency"]:
        lines.append(f"Newest first among the best ({data['recency']}).")
    if not data["found"]:
        lines.append("Nothing is relevant enough: these are the closest passages, not an answer.")
    if data["notice"]:
        lines.append(f"Note: {data['notice']}")
    shown: set[str] = set()
    for hit in hits:
        lines.append("")
        lines.append(
            f"[{hit['rank']}] {hit['title']} | {hit['source'] or 'unknown source'} | "
            f"{_day(hit['published'])} | article_id {hit['article_id']}"
        )
        if hit["url"] and hit["article_id"] not in shown:
            lines.append(hit["url"])
        shown.add(hit["article_id"])
        lines.append(hit["text"])
    return "\n".join(lines)


def ask_text(data: dict[str, Any]) -> str:
    """The cited answer, then the passages it cites."""
    answer = data["answer"]
    if answer["found"] and answer["text"]:
        head = [f"Answer ({answer['mode']}; [n] cites passage n below):", answer["text"]]
    else:
        head = [f"No answer: {answer['notice'] or 'nothing relevant enough'}"]
    if answer["glosses"]:
        glosses = " · ".join(f"{g['text']} {g['english']}" for g in answer["glosses"])
        head.append(f"Names and numbers in English: {glosses}")
    if answer["found"] and answer["notice"]:
        head.append(f"Note: {answer['notice']}")
    return "\n".join([*head, "", search_text(data)])


def timeline_text(data: dict[str, Any]) -> str:
    """A story's articles, oldest first, with the sentence of each that matches it."""
    entries = data["entries"]
    lines = [f"{len(entries)} articles about {data['query']!r}, oldest first."]
    lines += filter(None, [_window(data["time_window"])])
    if data["notice"]:
        lines.append(f"Note: {data['notice']}")
    for entry in entries:
        lines += ["", *_story(entry, entry["source"])]
    return "\n".join(lines)


def _story(story: dict[str, Any], outlet: str | None) -> list[str]:
    """A timeline entry or a watch item: day, outlet, title, id, the outlets that also
    reported it, its URL and its best sentence."""
    also = story["also_reported_by"]
    head = (
        f"{_day(story['published'])} | {outlet or 'unknown source'} | "
        f"{story['title']} | article_id {story['article_id']}"
        + (f" | also reported by {', '.join(also)}" if also else "")
    )
    return [head, *([story["url"]] if story["url"] else []), story["sentence"]]


def article_text(data: dict[str, Any]) -> str:
    """The article's title, outlet, date, URL and cleaned text."""
    lines = [
        data["title"],
        f"{data['source'] or 'unknown source'} | {_day(data['published'])} | "
        f"article_id {data['id']}" + (f" | by {data['author']}" if data["author"] else ""),
    ]
    if data["url"]:
        lines.append(data["url"])
    return "\n".join([*lines, "", data["text"]])


def watch_text(data: dict[str, Any]) -> str:
    """Each watch's new stories, newest first, with what citing them needs."""
    lines = [f"{data['new']} new stories over {len(data['watches'])} watch(es)."]
    for digest in data["watches"]:
        watch = digest["watch"]
        lines += ["", f"Watch {watch['name']} ({watch['question']}): {len(digest['items'])} new"]
        for item in digest["items"]:
            lines += _story(item, item["outlet"])
    return "\n".join(lines)
