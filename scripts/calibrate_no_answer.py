#!/usr/bin/env python3
"""Fit the calibrated no-answer model and write rag/data/no_answer.json (one command).

    python scripts/calibrate_no_answer.py [--dry-run] [--rebuild]

Answerable: the CMRC 2018 trial questions (Chinese in both scripts, and the 100
translated to English) asked of an index holding their paragraphs plus the news-oped2
distractors when present.
Unanswerable: the same questions asked of a news index (the sample corpus, plus
news-oped2 when present) that cannot answer them. Questions are split by paragraph
(crc32 of its id, even: fit, odd: held out), so the figures printed for the held-out half
come from questions and paragraphs the model never saw. Prints both error rates (wrongly
refused answerable, wrongly answered unanswerable) for the cosine thresholds of the
settings and for the model, per language, and writes the model fitted on the fit half.
Re-run it after changing retrieval or the embedder (with --rebuild when the change
alters what an index holds: chunking, tokens, the embedder); the two work indexes under
indexes/calibrate are otherwise only updated, and embeddings are cached there.
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import _common
import numpy as np

from rag import Archive, Settings

# the evaluation's CMRC reader
from rag.eval.retrieval import Question, load_squad, write_paragraph_articles
from rag.records import SearchOptions

# the no-answer model's own features, as every search computes them, are what it is fitted on
from rag.search.no_answer import FEATURES, MODEL_FILE, UNSURE

ROOT = _common.ROOT
CMRC = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
CMRC_EN = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_en100.json"
CMRC_TW = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial_tw.json"
OPED2 = ROOT.parent / "shared" / "data" / "news-oped2"
SAMPLE = ROOT / "corpus" / "sample"
# L2 penalty on the standardised coefficients: a handful of features, a few hundred pairs.
L2 = 1.0
# The largest fit-half error sum (wrongly refused + wrongly answered) at which a
# language's model decides the no-answer; above it the cosine threshold still decides.
USEFUL = 0.5


def held_out(question: Question) -> bool:
    """The fixed split: a question is held out when its paragraph's crc32 is odd."""
    return zlib.crc32(question.paragraph_id.encode()) % 2 == 1


def fit_logistic(x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    """Standardisation and L2-penalised logistic coefficients (Newton's method)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.diag([L2] * (z.shape[1] - 1) + [0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "weights": w[:-1].round(6).tolist(),
        "bias": round(float(w[-1]), 6),
    }


def predict(part: dict[str, object], x: np.ndarray) -> np.ndarray:
    mean, scale = np.asarray(part["mean"]), np.asarray(part["scale"])
    logit = ((x - mean) / scale) @ np.asarray(part["weights"]) + float(part["bias"])  # type: ignore[arg-type]
    return 1.0 / (1.0 + np.exp(-logit))


def rates(answered: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(wrongly refused among answerable, wrongly answered among unanswerable)."""
    return float((~answered[y == 1]).mean()), float(answered[y == 0].mean())


def collect(
    questions: list[Question], answerable: Archive, news: Archive
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, held-out mask): each question once answerable, once not, its
    signals read from the search users run (translation and name forms included)."""
    rows, labels, mask = [], [], []
    for q in questions:
        for archive, label in ((answerable, 1), (news, 0)):
            found = archive.search(q.text, SearchOptions(k=5)).signals
            if found is None:
                raise SystemExit("no signals: the search ran without the no-answer check")
            rows.append([found[f] for f in FEATURES])
            labels.append(label)
            mask.append(held_out(q))
    return np.array(rows), np.array(labels), np.array(mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="Print, do not write the model.")
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the work indexes.")
    args = parser.parse_args()
    work = ROOT / "indexes" / "calibrate"
    cache = work / "cache"
    paragraphs, zh = load_squad(CMRC)
    _, en = load_squad(CMRC_EN)
    # the same questions in Traditional characters, asked of the same (Simplified) index
    _, tw = load_squad(CMRC_TW)
    write_paragraph_articles(paragraphs, work / "paragraphs")
    news = [str(SAMPLE)] + ([str(OPED2)] if OPED2.is_dir() else [])
    answerable_index = Settings(index_dir=work / "answerable", cache_dir=cache)
    news_index = Settings(index_dir=work / "news", cache_dir=cache)
    for settings, paths in (
        (answerable_index, [str(work / "paragraphs"), *news[1:]]),
        (news_index, news),
    ):
        index = Archive(settings)
        if args.rebuild or not (settings.index_dir / "CURRENT").exists():
            index.build(paths)
        else:
            index.update(paths)
    answerable, unanswerable = Archive(answerable_index), Archive(news_index)
    defaults = Settings()
    data = {}
    for lang, questions, threshold in (
        ("zh", zh + tw, defaults.min_score_zh),
        ("other", en, defaults.min_score_other),
    ):
        x, y, mask = collect(questions, answerable, unanswerable)
        data[lang] = (x, y, mask, threshold)
        print(
            f"{lang}: {len(questions)} questions, {int((~mask).sum()) // 2} fit, "
            f"{int(mask.sum()) // 2} held out"
        )
    shipped = json.loads(MODEL_FILE.read_text("utf-8")) if MODEL_FILE.exists() else None
    if shipped is not None and shipped.get("features") != list(FEATURES):
        shipped = None
    pooled = fit_logistic(
        np.vstack([d[0][~d[2]] for d in data.values()]),
        np.concatenate([d[1][~d[2]] for d in data.values()]),
    )
    own = {lang: fit_logistic(x[~mask], y[~mask]) for lang, (x, y, mask, _) in data.items()}
    print(f"news index: {', '.join(news)}; features: {', '.join(FEATURES)}")
    print("held-out half       wrongly refused  wrongly answered")
    chosen: dict[str, dict[str, object]] = {}
    for lang, (x, y, mask, threshold) in data.items():
        top = x[:, FEATURES.index("top_cosine")]
        candidates = {
            f"cosine >= {threshold:.2f}": top >= threshold,
            "model, pooled": predict(pooled, x) >= UNSURE,
            f"model, {lang} only": predict(own[lang], x) >= UNSURE,
        }
        if shipped is not None:  # the model this run replaces, as the package decides
            part = shipped["languages"][lang]  # type: ignore[index]
            candidates["shipped"] = (
                predict(part, x) >= UNSURE if part.get("decides", True) else top >= threshold
            )
        for name, answered in candidates.items():
            refused, wrong = rates(answered[mask], y[mask])
            print(f"{lang:>5} {name:<18} {refused:12.3f} {wrong:17.3f}")
        refused, wrong = rates(candidates[f"cosine >= {threshold:.2f}"], y)
        print(f"{lang:>5} (cosine threshold on every question: {refused:.3f} / {wrong:.3f})")
        # pooled or per-language: chosen on the fit half (the held-out half stays unseen)
        fit_errors = {
            "pooled": sum(rates(predict(pooled, x[~mask]) >= UNSURE, y[~mask])),
            "own": sum(rates(predict(own[lang], x[~mask]) >= UNSURE, y[~mask])),
        }
        pick = min(fit_errors, key=lambda k: (fit_errors[k], k != "pooled"))
        # A model no better than half of chance (both error rates summing to 1) would
        # refuse real questions for nothing: it then only reports, the threshold decides.
        decides = fit_errors[pick] <= USEFUL
        chosen[lang] = {**(pooled if pick == "pooled" else own[lang]), "decides": decides}
        print(
            f"{lang:>5} ships the {pick} coefficients (fit-half error sum "
            f"{fit_errors[pick]:.3f}); it {'decides' if decides else 'only reports'}"
        )
    model = {
        "features": list(FEATURES),
        "threshold": UNSURE,
        "languages": chosen,
        "fitted_on": "CMRC 2018 trial (zh, and in Traditional characters) + its English 100, "
        "paragraphs with even crc32; "
        f"unanswerable against {' + '.join(Path(n).name for n in news)}",
    }
    if args.dry_run:
        print(json.dumps(model, indent=1))
        return
    MODEL_FILE.parent.mkdir(exist_ok=True)
    MODEL_FILE.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
