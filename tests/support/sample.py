"""Where the repository's test material is, and the sample question with its answer."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpus" / "sample"  # the five sample articles
DATA = ROOT / "tests" / "data"
QUESTION = "中美在COP28上承诺了什么"
STOCKTAKE = "以协商一致方式达成全球盘点决定"  # the sentence that answers QUESTION
