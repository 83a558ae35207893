"""Hostile CLI inputs (issue 13): run `sanad` as a real subprocess with bad settings, bad arguments, hostile files
and a misbehaving Ollama, and count what came back.

Each case is bad on purpose: malformed or binary ``sanad.toml``, garbage ``SANAD_OLLAMA_HOST``, a read-only index
folder, a Chroma server that is down, a data folder that is a file, arguments that are not UTF-8, unknown flags and
commands, bad ``-k`` and dates, missing paths, empty and binary files, a FIFO named ``.txt``, ``/dev/zero``, a
non-UTF-8 file name, a huge or empty question, a JSON-array line from Ollama in `sanad chat`. Counted per case: a
traceback in the output, an "unexpected" line (what the CLI prints for its own bugs), a wrong exit code (the
documented ones: 0 ok, 1 some files skipped, 2 a user or environment error), a hang (past the time limit), and an
answer that is not the expected clear line. Every failure column must be 0. Keyword-only index (no embedding
model needed), the 5 sample articles.

    .venv/bin/python benchmarks/hostile_cli.py
"""

from __future__ import annotations

import codecs
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.ollama_server import FakeOllama, Reply  # noqa: E402

SANAD = [sys.executable, "-m", "cli.main"]
TIMEOUT = 120.0
QUESTION = "ليبيا"


@dataclass
class Case:
    category: str
    name: str
    args: list[str | bytes]
    code: int
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""
    expect: str | tuple[str, ...] = ""  # the phrase(s) the output must hold (the clear line, what was indexed)


@dataclass
class Outcome:
    case: Case
    code: int | None
    output: str

    def failures(self) -> dict[str, int]:
        hung = self.code is None
        return {"tracebacks": int("Traceback (most recent call last)" in self.output),
                "unexpected": int("unexpected" in self.output.lower()),
                "wrong exit code": int(not hung and self.code != self.case.code),
                "hung": int(hung),
                "unclear": int(not hung and not all(p in self.output for p in self.phrases()))}

    def phrases(self) -> tuple[str, ...]:
        return (self.case.expect,) if isinstance(self.case.expect, str) else self.case.expect


def run(case: Case, base_env: dict[str, str], cwd: Path) -> Outcome:
    args = [os.fsencode(a) if isinstance(a, str) else a for a in case.args]
    env = {**base_env, **case.env}
    try:
        done = subprocess.run([*map(os.fsencode, SANAD), *args], cwd=cwd, env=env, input=case.stdin.encode(),
                              capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return Outcome(case, None, (exc.stdout or b"").decode(errors="replace"))
    text = (done.stdout + done.stderr).decode("utf-8", errors="replace")
    return Outcome(case, done.returncode, text)


def _files(root: Path) -> dict[str, Path]:
    """The hostile files and folders the cases point at."""
    paths = {name: root / name for name in ("bad.toml", "bin.toml", "types.toml", "empty.txt", "nul.txt",
                                            "fifo", "special", "badname", "mixed")}
    paths["bad.toml"].write_text("data_dir = [\n", encoding="utf-8")
    paths["bin.toml"].write_bytes(b"\xff\xfe\x00\x01garbage")
    paths["types.toml"].write_text('chunk_size = "many"\n', encoding="utf-8")
    paths["empty.txt"].write_bytes(b"")
    paths["nul.txt"].write_bytes(b"\x00\x01\x02" * 100)
    good = (REPO / "data" / "articles").glob("*.txt")
    sample = next(iter(sorted(good))).read_text(encoding="utf-8")
    for folder in ("fifo", "special", "badname", "mixed"):
        paths[folder].mkdir()
        (paths[folder] / f"good_{folder}.txt").write_text(sample, encoding="utf-8")
    os.mkfifo(paths["fifo"] / "pipe.txt")
    (paths["special"] / "zero.txt").symlink_to("/dev/zero")
    with open(os.path.join(os.fsencode(paths["badname"]), b"caf\xe9.txt"), "wb") as handle:
        handle.write(sample.encode("utf-8"))
    (paths["mixed"] / "wide.txt").write_bytes(codecs.BOM_UTF16_LE + sample.encode("utf-16-le"))
    (paths["mixed"] / "batch.jsonl").write_text('{"id": "j1", "title": "t", "text": "' + sample[:200].replace(
        "\n", " ").replace('"', "'") + '"}\n{broken\n', encoding="utf-8")
    return paths


def cases(files: dict[str, Path], ollama: str, read_only: Path | None) -> list[Case]:
    f = {k: str(v) for k, v in files.items()}
    bad_host = "invalid setting ollama_host"
    out = [
        Case("settings and environment", "malformed --config", ["--config", f["bad.toml"], "docs"], 2,
             expect="is not valid TOML"),
        Case("settings and environment", "malformed SANAD_CONFIG", ["docs"], 2, {"SANAD_CONFIG": f["bad.toml"]},
             expect="is not valid TOML"),
        Case("settings and environment", "binary sanad.toml", ["--config", f["bin.toml"], "docs"], 2,
             expect="cannot read"),
        Case("settings and environment", "wrong type in sanad.toml", ["--config", f["types.toml"], "docs"], 2,
             expect="invalid setting chunk_size"),
        Case("settings and environment", "missing --config", ["--config", "/nonexistent/sanad.toml", "docs"], 2,
             expect="config file not found"),
        Case("settings and environment", "SANAD_TOP_K=abc", ["docs"], 2, {"SANAD_TOP_K": "abc"},
             expect="invalid setting top_k"),
    ]
    for host in ("not a url", "ftp://x", "http://[::1", "http://x:abc"):
        out.append(Case("settings and environment", f"SANAD_OLLAMA_HOST={host}", ["ask", QUESTION], 2,
                        {"SANAD_OLLAMA_HOST": host}, expect=bad_host))
    down = {"SANAD_CHROMA_HOST": "127.0.0.1", "SANAD_CHROMA_PORT": "9"}
    out += [
        Case("settings and environment", "Chroma server down: docs", ["docs"], 2, down, expect="cannot reach"),
        Case("settings and environment", "Chroma server down: ingest", ["ingest", f["fifo"]], 2, down,
             expect="cannot reach"),
        Case("settings and environment", "SANAD_CHROMA_PORT=abc", ["docs"], 2, {"SANAD_CHROMA_PORT": "abc"},
             expect="invalid setting chroma_port"),
        Case("settings and environment", "data folder is a file", ["docs"], 2, {"SANAD_DATA_DIR": f["bad.toml"]},
             expect="Not a directory"),
    ]
    if read_only is not None:
        for args in (["docs"], ["search", QUESTION], ["remove", "x"]):
            out.append(Case("settings and environment", f"read-only index: {args[0]}", list(args), 2,
                            {"SANAD_DATA_DIR": str(read_only)}, expect="index folder is read-only"))
    out += [
        Case("arguments", "non-UTF-8 question", ["ask", b"\xff\xfe " + QUESTION.encode()], 2,
             expect="not valid UTF-8"),
        Case("arguments", "non-UTF-8 search", ["search", b"caf\xe9"], 2, expect="not valid UTF-8"),
        Case("arguments", "non-UTF-8 path", ["ingest", b"/tmp/caf\xe9.txt"], 2, expect="not valid UTF-8"),
        Case("arguments", "unknown flag", ["docs", "--nope"], 2, expect="No such option"),
        Case("arguments", "unknown command", ["frobnicate"], 2, expect="No such command"),
        Case("arguments", "-k 0", ["search", QUESTION, "-k", "0"], 2, expect="Invalid value"),
        Case("arguments", "-k -5", ["ask", QUESTION, "-k", "-5"], 2, expect="Invalid value"),
        Case("arguments", "-k abc", ["search", QUESTION, "-k", "abc"], 2, expect="Invalid value"),
        Case("arguments", "-k 10**30", ["timeline", QUESTION, "-k", "1" + "0" * 30], 2, expect="Invalid value"),
        Case("arguments", "bad --since", ["search", QUESTION, "--since", "2016-13"], 2, expect="not a date"),
        Case("arguments", "bad --until", ["timeline", QUESTION, "--until", "yesterday-ish"], 2, expect="not a date"),
        Case("arguments", "bad ingest --published", ["ingest", f["fifo"], "--published", "32/13/2020"], 2,
             expect="not a publication date"),
        Case("arguments", "remove unknown id", ["remove", "no-such-doc"], 2, expect="no document with id"),
        Case("arguments", "empty question", ["ask", ""], 2, expect="error:"),
        Case("arguments", "zero-width question", ["search", "\u200b\u200b"], 2, expect="no words"),
        Case("arguments", "21k-character question", ["ask", "ليبيا " * 3500], 2, expect="error:"),
        Case("arguments", "eval: missing suite", ["eval", "/nonexistent/suite.jsonl", "--use-index",
                                                  "--retrieval-only", "--out", "eval-out"], 2, expect="error"),
        Case("hostile files", "missing path", ["ingest", "/nonexistent/articles"], 1, expect="no such file"),
        Case("hostile files", "empty file", ["ingest", f["empty.txt"]], 1, expect="empty"),
        Case("hostile files", "binary .txt", ["ingest", f["nul.txt"]], 1, expect="binary"),
        Case("hostile files", "FIFO named .txt in a folder", ["ingest", f["fifo"]], 1,
             expect=("not a regular file", "added 1 ")),
        Case("hostile files", "FIFO given by name", ["ingest", str(files["fifo"] / "pipe.txt")], 1,
             expect="not a regular file"),
        Case("hostile files", "/dev/zero", ["ingest", "/dev/zero"], 1, expect="unsupported file type"),
        Case("hostile files", "link zero.txt -> /dev/zero", ["ingest", f["special"]], 1,
             expect=("not a regular file", "added 1 ")),
        Case("hostile files", "non-UTF-8 file name in a folder", ["ingest", f["badname"]], 1,
             expect=("caf\\xe9.txt: the file name is not valid UTF-8", "added 1 ")),
        Case("hostile files", "UTF-16 file and a JSONL with a bad line", ["ingest", f["mixed"]], 1,
             expect=("mixed/batch.jsonl:2", "added 3 ")),
        Case("misbehaving Ollama", "JSON-array line in sanad chat", ["chat"], 0,
             {"SANAD_OLLAMA_HOST": ollama}, stdin=f"{QUESTION}؟\n\n", expect="error:"),
        Case("misbehaving Ollama", "JSON-array line in sanad ask", ["ask", f"{QUESTION}؟"], 2,
             {"SANAD_OLLAMA_HOST": ollama}, expect="error:"),
    ]
    return out


def _read_only_copy(data_dir: Path, root: Path) -> Path | None:
    """A read-only view of the index (a read-only bind mount): chmod does not stop root, a mount does."""
    target = root / "ro-index"
    target.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(data_dir), str(target)], capture_output=True).returncode == 0
    if mounted and subprocess.run(["mount", "-o", "remount,ro,bind", str(target)],
                                  capture_output=True).returncode == 0:
        return target
    if mounted:
        subprocess.run(["umount", str(target)], capture_output=True)
    if os.geteuid() != 0:  # a normal user: permissions are enough
        shutil.copytree(data_dir, target, dirs_exist_ok=True)
        for path in [target, *target.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return target
    return None


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sanad-hostile-cli-"))
    env = {**os.environ, "SANAD_DATA_DIR": str(root / "data"), "SANAD_EMBED_MODEL": str(root / "no-model"),
           "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "PYTHONPATH": str(REPO), "SANAD_CONFIG": str(root / "none.toml")}
    env.pop("SANAD_DEBUG", None)
    ollama = FakeOllama().start()
    ollama.default = lambda body: Reply(raw=b'[1, 2, 3]\n["not", "ollama"]\n', content_type="application/x-ndjson")
    read_only = None
    try:
        subprocess.run([*SANAD, "ingest", str(REPO / "data" / "articles")], env=env, cwd=root, capture_output=True,
                       check=True, timeout=600)
        read_only = _read_only_copy(root / "data", root)
        outcomes = [run(case, env, root) for case in cases(_files(root), ollama.url, read_only)]
    finally:
        ollama.stop()
        if read_only is not None:
            subprocess.run(["umount", str(read_only)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    _print(outcomes, read_only is not None)
    return 0 if all(sum(o.failures().values()) == 0 for o in outcomes) else 1


def _print(outcomes: list[Outcome], read_only: bool) -> None:
    columns = ["tracebacks", "unexpected", "wrong exit code", "hung", "unclear"]
    per: dict[str, Counter[str]] = defaultdict(Counter)
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        per[outcome.case.category].update({"inputs": 1, **outcome.failures()})
        codes[outcome.case.category][str(outcome.code)] += 1
    print("| bad CLI inputs | inputs | " + " | ".join(columns) + " | exit codes |")
    print("|---|---:|" + "---:|" * len(columns) + "---|")
    total: Counter[str] = Counter()
    for category, count in per.items():
        total.update(count)
        exits = ", ".join(f"{c}×{n}" for c, n in sorted(codes[category].items()))
        print(f"| {category} | {count['inputs']} | " + " | ".join(str(count[c]) for c in columns) + f" | {exits} |")
    print(f"| **all** | {total['inputs']} | " + " | ".join(str(total[c]) for c in columns) + " | |")
    if "-v" in sys.argv:
        for outcome in outcomes:
            print(f"\n[{outcome.case.name}] exit {outcome.code}: " + " / ".join(outcome.output.strip().splitlines()[-3:]))
    if not read_only:
        print("\n(read-only index cases skipped: no read-only bind mount here and running as root)")
    for outcome in outcomes:
        if sum(outcome.failures().values()):
            print(f"\nFAILED {outcome.case.category} / {outcome.case.name}: exit {outcome.code} "
                  f"(want {outcome.case.code})\n{outcome.output[-1500:]}")


if __name__ == "__main__":
    sys.exit(main())
