"""`sanad ingest`, frozen right after its first chunk write of the run, so a test can SIGKILL it there.

Usage: python -m tests.integration.freeze_ingest SENTINEL ingest FOLDER

At the freeze the batch's registry records are "pending" and its chunks are in Chroma, while the keyword
index is not committed: the worst moment to die. Killing on a signal file, not after a guessed delay,
keeps the test independent of machine speed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def _freeze_after_first_write(sentinel: Path) -> None:
    from rag.retrieval.store import ChromaStore

    original = ChromaStore.add_chunks

    def add_chunks(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        sentinel.write_text("chunks stored, records pending\n", encoding="utf-8")
        time.sleep(3600)
        return result

    ChromaStore.add_chunks = add_chunks  # type: ignore[method-assign]


if __name__ == "__main__":
    _freeze_after_first_write(Path(sys.argv[1]))
    sys.argv = ["sanad", *sys.argv[2:]]
    from cli.main import main

    main()
