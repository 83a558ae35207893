"""Issue 13: a short mixed load against a real `sanad serve` subprocess (real Chroma, MiniLM, fake Ollama).

Eight clients for eight seconds over the five sample articles mix asks (JSON, SSE), searches (GET, POST),
uploads and deletes of their own uploads (benchmarks/mixed_load.py, the code `benchmarks/api_load.py --mixed`
runs at 32 clients). Afterwards the listing and a title search must hold every acknowledged upload exactly once
and no acknowledged delete, with no error answer and no traceback in the server's log.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.api_load import mixed_run

pytestmark = pytest.mark.integration


def test_mixed_load_loses_nothing_and_answers_every_request(minilm_path: Path) -> None:
    run = mixed_run(clients=8, seconds=8, news=0, embed_model=str(minilm_path), delay=0.02)

    kinds = Counter(call.kind for call in run.ledger.calls)
    assert set(kinds) == {"ask", "ask_sse", "search_get", "search_post", "upload", "delete"}, kinds
    failed = [f"{c.kind}: {c.detail}" for c in run.ledger.calls if c.outcome == "error"]
    assert failed == []
    counts = run.counts
    assert counts["uploaded"] > 0 and counts["deleted"] > 0, counts  # writes really raced the reads
    assert (counts["lost"], counts["duplicated"], counts["stale"], counts["unexpected"]) == (0, 0, 0, 0), counts
    assert counts["listed"] == counts["base"] + counts["uploaded"] - counts["deleted"], counts
    assert run.tracebacks == 0
