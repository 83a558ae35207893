"""What every CLI command shares: settings loaded once, the service built lazily, errors made readable."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import typer

from rag.errors import RagError
from rag.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppState:
    """Lives in typer's context object; the service is built on first use so `--help` stays instant."""

    settings: Settings
    _service: Any = field(default=None, repr=False)

    def service(self, *, load_llm: bool = True, load_model: bool = True) -> Any:
        if self._service is None:
            from rag.wiring import build_service

            self._service = build_service(self.settings, load_llm=load_llm, load_model=load_model)
            if self._service.embed_error:
                err(self._service.embed_error)
        return self._service


def state(ctx: typer.Context) -> AppState:
    return ctx.ensure_object(AppState)


def err(message: str) -> None:
    typer.echo(message, err=True)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


#: What Ctrl-C means depends on the command: a write (ingest, remove) stops at a consistent index; chat just ends.
INTERRUPTED_WRITE = "interrupted: the index is consistent; run the same command again to finish"
INTERRUPTED_CHAT = "chat ended (Ctrl-C); the index was not changed"
INTERRUPTED_ANSWER = "answer interrupted (Ctrl-C); the index was not changed"
INTERRUPTED_EVAL = "eval interrupted (Ctrl-C); run the same command again: finished questions in --out are kept"


def handle_errors(func: F | None = None, *, interrupted: str = INTERRUPTED_WRITE) -> Any:
    """Translate RagError (and Ctrl-C) into one readable line and a non-zero exit code; no tracebacks.
    ``@handle_errors`` or ``@handle_errors(interrupted=INTERRUPTED_CHAT)``: the line Ctrl-C prints."""
    if func is None:
        return functools.partial(handle_errors, interrupted=interrupted)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:  # a deliberate exit code (e.g. `sanad eval --fail-under` -> 3) passes through
            raise
        except RagError as exc:
            err(f"error: {exc}")
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            err(f"\n{interrupted}")
            raise typer.Exit(code=130) from None
        except Exception as exc:  # the edge of the program: never show a traceback to a user
            known = environment_message(exc)
            if known is not None:
                err(known)
                raise typer.Exit(code=2) from None
            if os.environ.get("SANAD_DEBUG"):
                raise
            err(f"error: unexpected {type(exc).__name__}: {exc} (set SANAD_DEBUG=1 for details)")
            raise typer.Exit(code=1) from None

    return wrapper


_READ_ONLY = ("readonly database", "read-only file system", "read only file system")
_HINT_DATA = "point SANAD_DATA_DIR at a folder you can write to, or fix its permissions"


def environment_message(exc: Exception) -> str | None:
    """One line + hint for faults of the user's environment, not of Sanad (exit code 2): a read-only or
    unwritable index folder (Chroma reports it as its own InternalError), a file the OS refuses, text that
    is not valid UTF-8. None: a bug, reported as 'unexpected'."""
    text = str(exc)
    if any(marker in text.lower() for marker in _READ_ONLY):
        return f"error: the index folder is read-only; Sanad writes there even to read ({_HINT_DATA})"
    if isinstance(exc, OSError):
        where = os.fsencode(exc.filename).decode("utf-8", "backslashreplace") if exc.filename else ""
        line = f"error: {exc.strerror or exc}: {where}".rstrip(": ")
        return f"{line} (check that the path exists and that you may read and write it)"
    if isinstance(exc, UnicodeError):
        return ("error: text that is not valid UTF-8 (a stray byte or a lone surrogate) "
                "(retype it, or set a UTF-8 locale such as LANG=C.UTF-8)")
    return None


def settings_message(exc: Exception) -> str:
    """One line for settings that cannot be loaded: which setting, from where, and why (never pydantic's dump)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        reason = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return (f"error: invalid setting {name}: {reason}{more} "
                f"(check SANAD_{name.upper()} and the {name} key in sanad.toml)")
    return f"error: invalid settings: {exc}".splitlines()[0]


def quiet_libraries() -> None:
    """Keep third-party chatter (telemetry, progress bars, warnings) out of the user's terminal."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not sys.warnoptions:
        import warnings

        warnings.simplefilter("ignore")
