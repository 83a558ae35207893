"""`sanad`: the command-line entry point. Loads settings once and hands them to each command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cli.bidi import BidiMode, finish
from cli.bidi import install as install_bidi
from cli.common import AppState, err, quiet_libraries, settings_message

app = typer.Typer(
    name="sanad",
    help="Sanad: ask questions of your news articles; every claim cited to the article and sentence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="Path to a sanad.toml (default: ./sanad.toml)."),
    bidi: BidiMode = typer.Option(BidiMode.logical, "--bidi", envvar="SANAD_BIDI", case_sensitive=False,
                             help="'visual': print Arabic in visual order, for terminals without bidi support "
                                  "(xterm, many SSH clients). Default 'logical': the terminal orders it."),
) -> None:
    """Load settings once; every command reads them from the context."""
    from pydantic import ValidationError

    from rag.errors import RagError
    from rag.settings import load_settings

    quiet_libraries()
    install_bidi(bidi)
    try:
        ctx.obj = AppState(settings=load_settings(config))
    except (ValidationError, RagError) as exc:
        err(settings_message(exc))
        raise typer.Exit(code=2) from None


def _register_commands() -> None:
    """Each command group lives in its own module with a ``register(app)`` function."""
    import importlib

    for name in ("cli.index_cmds", "cli.search_cmd", "cli.ask_cmds", "cli.serve_cmd", "cli.eval_cmd",
                 "cli.timeline_cmd"):
        importlib.import_module(name).register(app)


def _bad_argument() -> str | None:
    """An argument the shell passed as bytes that are not UTF-8 (Python keeps them as lone surrogates,
    which no tokenizer or JSON encoder accepts): refused here with one clear line."""
    for arg in sys.argv[1:]:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(arg).decode("utf-8", "backslashreplace")
            return (f"error: argument '{shown}' is not valid UTF-8 (retype it, rename the file, "
                    "or set a UTF-8 locale such as LANG=C.UTF-8)")
    return None


def main() -> None:
    bad = _bad_argument()
    if bad:
        err(bad)
        raise SystemExit(2)
    _register_commands()
    try:
        app()
    finally:
        finish()


if __name__ == "__main__":
    main()
