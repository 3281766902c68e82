"""A CMRC 2018 paragraph the search tests use: the lead names the airport, and the
sentence that answers "how many runways" names it only through the article's title."""

from __future__ import annotations

import json

from support.sample import DATA

AIRPORT_QUESTION = "伊丽莎白港机场有几条跑道？"


def airport() -> tuple[str, str]:
    """(title, paragraph) of the Port Elizabeth airport article."""
    data = json.loads((DATA / "cmrc2018" / "cmrc2018_trial.json").read_text("utf-8"))
    item = next(i for i in data["data"] if i["title"].startswith("伊丽莎白港机场"))
    return item["title"], item["paragraphs"][0]["context"]
