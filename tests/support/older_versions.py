"""Turn a published index version into what an older release of the tool wrote."""

from __future__ import annotations

import json
from pathlib import Path

from rag.index.store import MANIFEST


def written_before_checksums(version: Path, format_version: int | None = None) -> None:
    """The manifest as releases before checksums wrote it: no ``files`` record, format 2
    (3 for a version with a delta) unless ``format_version`` says otherwise. Files of the
    version may then be edited the way those releases laid them out."""
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    manifest.pop("files", None)
    if format_version is None:
        format_version = 3 if (version / "delta" / MANIFEST).is_file() else 2
    manifest["format_version"] = format_version
    (version / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
