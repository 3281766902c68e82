"""scripts/eval_gate.py, the retrieval-quality gate, imported as a module."""

from __future__ import annotations

import importlib.util

from support.sample import ROOT

_spec = importlib.util.spec_from_file_location("eval_gate", ROOT / "scripts" / "eval_gate.py")
assert _spec and _spec.loader
eval_gate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(eval_gate)
