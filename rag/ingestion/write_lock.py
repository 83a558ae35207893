"""One writer per index across processes: the ``filelock`` adapter.

Why: the CLI, the API and the chat UI may run as separate processes on one data folder. Each ingest,
removal and reset rewrites the keyword index from its own in-memory copy and commits it; two writers at
once would each commit a copy without the other's chunks, and each one's crash recovery would purge the
other's in-flight articles. Holding this lock for a whole write makes writers take turns; readers
(search, listing) never take it. The lock is a file in the data folder, so it covers every process that
shares that folder (two servers on one Chroma server with different data folders are not covered).
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from rag.errors import IndexBusyError

__all__ = ["IndexWriteLock"]


class IndexWriteLock:
    """Re-entrant in one thread, exclusive across threads and processes; waits up to ``timeout`` s."""

    def __init__(self, path: Path, timeout: float) -> None:
        from filelock import FileLock

        self.path = Path(path)
        self.timeout = timeout
        self._threads = threading.RLock()
        self._file = FileLock(str(self.path), timeout=timeout, thread_local=False)

    def __enter__(self) -> IndexWriteLock:
        from filelock import Timeout

        if not self._threads.acquire(timeout=self.timeout):
            raise self._busy()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file.acquire()
        except Timeout as exc:
            self._threads.release()
            raise self._busy() from exc
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._file.release()
        self._threads.release()

    def _busy(self) -> IndexBusyError:
        return IndexBusyError(f"another process has been writing to this index for over {self.timeout:g} s",
                           hint="wait for its ingest to finish, or raise SANAD_WRITE_LOCK_TIMEOUT")
