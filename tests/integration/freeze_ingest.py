"""`sanad ingest`, frozen at one step of its first commit, so a test can look at the index and SIGKILL it.

Usage: python -m tests.integration.freeze_ingest SENTINEL STAGE ingest FOLDER

STAGE (the steps of ``IngestPipeline._complete``, see ``rag.ingestion.versions``):

* ``chunks``: right after its first chunk write (the new versions are stored but hidden; the registry
  records and the keyword index are the old ones);
* ``records``: right after the registry write, the commit point (search still serves the old versions);
* ``switch``: right after the journal write that switched dense search to the new versions;
* ``keyword``: right after the keyword commit (the replaced chunks are not deleted yet);
* ``delete``: right after the replaced chunks were deleted (the journal entry is not dropped yet).

The sentinel is written at the freeze; killing on it, not after a guessed delay, keeps tests independent
of machine speed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def _freeze_after(owner: Any, name: str, sentinel: Path) -> None:
    original = getattr(owner, name)

    def frozen(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        sentinel.write_text(f"frozen after {owner.__name__}.{name}\n", encoding="utf-8")
        time.sleep(3600)
        return result

    setattr(owner, name, frozen)


def _freeze(sentinel: Path, stage: str) -> None:
    from rag.ingestion.versions import Versions
    from rag.retrieval.keyword import BM25Index
    from rag.retrieval.store import ChromaStore

    points = {"chunks": (ChromaStore, "add_chunks"), "switch": (Versions, "close"),
              "keyword": (BM25Index, "commit"), "delete": (ChromaStore, "delete_chunks")}
    if stage == "records":
        original = ChromaStore.put_docs

        def put_docs(self: ChromaStore, items: Any, status: str, versions: Any = None) -> None:
            original(self, items, status, versions)
            if versions:  # the commit point of a window (not a pre-version "pending" record)
                sentinel.write_text("frozen after the registry write\n", encoding="utf-8")
                time.sleep(3600)

        ChromaStore.put_docs = put_docs  # type: ignore[method-assign]
        return
    owner, name = points[stage]
    _freeze_after(owner, name, sentinel)


if __name__ == "__main__":
    _freeze(Path(sys.argv[1]), sys.argv[2])
    sys.argv = ["sanad", *sys.argv[3:]]
    from cli.main import main

    main()
