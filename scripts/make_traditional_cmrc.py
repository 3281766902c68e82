#!/usr/bin/env python3
"""Write the CMRC 2018 trial set converted to Traditional Chinese (OpenCC s2tw).

Titles, paragraphs and questions are converted; each answer is taken from the converted
paragraph at its original offset (s2tw maps one character to one character), so it is
still a span of the paragraph even where a phrase converts by its context.

    python scripts/make_traditional_cmrc.py   # writes tests/data/cmrc2018/cmrc2018_trial_tw.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
TARGET = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_tw.json"


def convert(data: dict[str, Any], config: str = "s2tw") -> tuple[dict[str, Any], int]:
    """(the converted set, number of answers converted on their own, not by offset)."""
    from opencc import OpenCC

    cc = OpenCC(config)
    standalone = 0
    out = {"version": f"{data.get('version', '')}-{config}", "data": []}
    for item in data["data"]:
        paragraphs = []
        for para in item["paragraphs"]:
            context = para["context"]
            converted = cc.convert(context)
            qas = []
            for qa in para["qas"]:
                answers = []
                for answer in qa.get("answers", ()):
                    start, text = int(answer["answer_start"]), answer["text"]
                    span = converted[start : start + len(text)]
                    same_length = len(converted) == len(context)
                    if not (same_length and context[start : start + len(text)] == text):
                        span = cc.convert(text)
                        standalone += 1
                    answers.append({"text": span, "answer_start": start})
                qas.append(
                    {"question": cc.convert(qa["question"]), "id": qa["id"], "answers": answers}
                )
            paragraphs.append({"id": para["id"], "context": converted, "qas": qas})
        out["data"].append(
            {"id": item["id"], "title": cc.convert(item["title"]), "paragraphs": paragraphs}
        )
    return out, standalone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="s2tw", help="OpenCC conversion (s2t, s2tw)")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args()
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    converted, standalone = convert(data, args.config)
    text = json.dumps(converted, ensure_ascii=False, indent=None, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    answers = sum(
        len(qa["answers"]) for i in converted["data"] for p in i["paragraphs"] for qa in p["qas"]
    )
    missing = sum(
        1
        for i in converted["data"]
        for p in i["paragraphs"]
        for qa in p["qas"]
        for a in qa["answers"]
        if a["text"] and a["text"] not in p["context"]
    )
    print(f"{args.output}: {answers} answers, {standalone} converted on their own,", end=" ")
    print(f"{missing} not in their paragraph")


if __name__ == "__main__":
    main()
