#!/usr/bin/env python3
"""Retrieval-quality gate: run `rag eval` on the pinned benchmarks and compare with the
floors in quality/floors.json. Exit 1 when any figure falls below its floor.

    python scripts/eval_gate.py            # every benchmark whose data is present
    python scripts/eval_gate.py --only cmrc2018
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag import Settings

# the evaluation `rag eval` runs, its figures checked against the floors
from rag.eval.answers import AnswerMetrics
from rag.eval.retrieval import EvalReport, evaluate, format_table

# not scripts/_common.py's ROOT: tests/unit/test_quality_gate.py loads this file by its path,
# without scripts/ to import from
ROOT = Path(__file__).resolve().parent.parent
FLOORS = ROOT / "quality" / "floors.json"
NEWS_QUESTIONS = ROOT / "tests" / "data" / "news_questions.jsonl"
RECENCY_QUESTIONS = ROOT / "tests" / "data" / "news_recency_questions.jsonl"
NEWS_SETS = {"news": NEWS_QUESTIONS, "news-recency": RECENCY_QUESTIONS}
# Simplified, Traditional and English questions about the same articles, names written
# another way, and questions no article answers: measured per language
LANGUAGE_SETS = [
    NEWS_QUESTIONS,
    *(
        ROOT / "tests" / "data" / name
        for name in (
            "news_questions_en.jsonl",
            "news_questions_tw.jsonl",
            "names_questions.jsonl",
            "news_unanswerable.jsonl",
        )
    ),
]
LANGUAGES = "news-languages"
NEWS_ARTICLES = [str(ROOT / "corpus" / "sample"), str(ROOT / "tests" / "data" / "news")]
CMRC = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
CMRC_EN = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_en100.json"
# the same set in Traditional characters (scripts/make_traditional_cmrc.py)
CMRC_TW = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_tw.json"
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"


def benchmarks() -> dict[str, tuple[Path, list[str]]]:
    found = {"cmrc2018": (CMRC, []), "cmrc2018-en": (CMRC_EN, []), "cmrc2018-tw": (CMRC_TW, [])}
    if OPED2.is_dir():
        found["cmrc2018+news-oped2"] = (CMRC, [str(OPED2)])
        found["cmrc2018-tw+news-oped2"] = (CMRC_TW, [str(OPED2)])
    return found


Floors = dict[str, dict[str, dict[str, float]]]


def check(name: str, report: EvalReport, floors: Floors) -> list[str]:
    """Every (level, mode, metric) below its floor, as readable lines."""
    failures = []
    levels = {"article": report.article_level, "passage": report.passage_level}
    for level, modes in floors.items():
        if level == "answers":  # extractive answers: one set of figures, no modes
            failures += _below(f"{name} answers", report.answers, modes)
            continue
        for mode, metrics in modes.items():
            measured = levels[level][mode].as_dict()
            for metric, floor in metrics.items():
                if measured[metric] < floor:
                    failures.append(
                        f"{name} {level} {mode} {metric}: {measured[metric]:.4f} < floor {floor}"
                    )
    return failures


def _below(label: str, answers: AnswerMetrics | None, floors: dict[str, float]) -> list[str]:
    if answers is None:
        return [f"{label}: not measured"]
    measured = answers.as_dict()
    return [
        f"{label} {metric}: {measured[metric]:.4f} < floor {floor}"
        for metric, floor in floors.items()
        if measured[metric] < floor
    ]


def run(name: str, index_root: Path | None = None) -> list[str]:
    qa_file, distractors = benchmarks()[name]
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))[name]
    root = index_root or ROOT / "indexes"
    settings = Settings(index_dir=root / f"gate-{name.replace('+', '-')}")
    report = evaluate(qa_file, settings, distractors=distractors)
    print(format_table(report))
    return check(name, report, floors)


def run_news(index_root: Path | None = None, name: str = "news") -> list[str]:
    """A news question set (time words or 最新 / latest, gold articles) against
    floors[name]; both sets ask about the same bundled articles."""
    from rag.eval.news import evaluate_news, format_news_table

    floors = json.loads(FLOORS.read_text(encoding="utf-8"))[name]
    root = index_root or ROOT / "indexes"
    report = evaluate_news(
        NEWS_SETS[name], Settings(index_dir=root / "gate-news"), articles=NEWS_ARTICLES
    )
    print(format_news_table(report))
    failures = []
    for variant, metrics in floors.items():
        measured = report.variants[variant].as_dict()
        for metric, floor in metrics.items():
            if measured[metric] < floor:
                failures.append(
                    f"{name} {variant} {metric}: {measured[metric]:.4f} < floor {floor}"
                )
    return failures


def run_languages(index_root: Path | None = None) -> list[str]:
    """The language sets against floors["news-languages"], a row per set and language."""
    from rag.eval.languages import evaluate_languages, format_language_table

    floors = json.loads(FLOORS.read_text(encoding="utf-8"))[LANGUAGES]
    root = index_root or ROOT / "indexes"
    report = evaluate_languages(
        LANGUAGE_SETS, Settings(index_dir=root / "gate-news"), articles=NEWS_ARTICLES
    )
    print(format_language_table(report))
    failures = []
    for row, metrics in floors.items():
        figures = report.rows.get(row)
        measured = figures.as_dict() if figures is not None else {}
        for metric, floor in metrics.items():
            if metric not in measured:
                failures.append(f"{LANGUAGES} {row} {metric}: not measured")
            elif measured[metric] < floor:
                failures.append(
                    f"{LANGUAGES} {row} {metric}: {measured[metric]:.4f} < floor {floor}"
                )
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description="retrieval-quality gate")
    parser.add_argument("--only", choices=sorted(json.loads(FLOORS.read_text("utf-8"))))
    args = parser.parse_args()
    names = [args.only] if args.only else [*benchmarks(), *NEWS_SETS, LANGUAGES]
    if not OPED2.is_dir():
        print(f"cmrc2018(-tw)+news-oped2: skipped ({OPED2} not found)")
    failures = []
    for name in names:
        if name == LANGUAGES:
            failures += run_languages()
        else:
            failures += run_news(name=name) if name in NEWS_SETS else run(name)
    for line in failures:
        print("BELOW FLOOR:", line)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
