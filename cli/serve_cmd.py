"""`sanad serve` (HTTP API + chat UI at /) and `sanad ui` (the chat alone).

The CLI is the one place that may import both ``api`` and ``ui``: it builds each over the same facade and
mounts the UI into the API app, so neither package imports the other.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import typer

from cli.common import err, handle_errors, state
from rag.errors import ConfigError
from rag.settings import Settings

__all__ = ["register", "build_server", "build_chat_server", "chat_access", "is_loopback", "check_bind"]


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings, allow_remote_without_key: bool) -> None:
    """Refuse to expose an unauthenticated index to the network unless the user says so explicitly."""
    if is_loopback(host) or settings.api_key or allow_remote_without_key:
        return
    raise ConfigError(
        f"refusing to listen on {host} without an API key: anyone on the network could read and change the index",
        hint="set SANAD_API_KEY, bind to 127.0.0.1, or pass --allow-remote-without-key",
    )


def chat_access() -> Any:
    """What the chat opens without the key (its login page) and how the key gate sees a logged-in session."""
    from api.auth import ChatAccess
    from ui.app import has_chat_session, is_public_chat_path

    return ChatAccess(public=is_public_chat_path, session=has_chat_session)


def build_server(service: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8321) -> Any:
    """The FastAPI app with the Gradio chat mounted at / (one process, one facade)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from api import create_app
    from ui import build_ui
    from ui.app import mount_ui

    app = create_app(service, settings, chat=chat_access())
    blocks = build_ui(service, settings)
    return mount_ui(app, blocks, settings, host=host, port=port)


def build_chat_server(service: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8321) -> Any:
    """The chat alone (`sanad ui`), mounted into a bare app behind the API's guards (Host check on loopback,
    no credentialed CORS, the key gate before any body byte, body limits) and Gradio's upload path check;
    ``blocks.launch()`` would give none of the first four."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from api.app import create_guarded_app
    from ui import build_ui
    from ui.app import mount_ui

    app = create_guarded_app(settings, chat=chat_access())
    return mount_ui(app, build_ui(service, settings), settings, host=host, port=port)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @handle_errors
    def serve(
        ctx: typer.Context,
        host: str | None = typer.Option(None, help="Address to bind (default: settings.host, 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default: settings.port, 8321)."),
        allow_remote_without_key: bool = typer.Option(
            False, "--allow-remote-without-key", help="Bind a non-loopback address without SANAD_API_KEY."),
    ) -> None:
        """Run the HTTP API (/v1, OpenAI-compatible /v1/chat/completions, /openapi.json) with the chat at /."""
        import uvicorn

        from api.server import server_options

        st = state(ctx)
        bind_host, bind_port = host or st.settings.host, port or st.settings.port
        check_bind(bind_host, st.settings, allow_remote_without_key)
        server = build_server(st.service(), st.settings, host=bind_host, port=bind_port)
        err(f"sanad: serving on http://{bind_host}:{bind_port}  (chat at /, API at /v1, docs at /docs)")
        uvicorn.run(server, host=bind_host, port=bind_port, log_level="warning", **server_options())

    @app.command("ui")
    @handle_errors
    def ui_cmd(
        ctx: typer.Context,
        host: str | None = typer.Option(None, help="Address to bind (default: settings.host)."),
        port: int | None = typer.Option(None, help="Port (default: settings.port)."),
        allow_remote_without_key: bool = typer.Option(False, "--allow-remote-without-key"),
    ) -> None:
        """Run the Gradio chat alone (no HTTP API), behind the same guards as `sanad serve`."""
        import uvicorn

        from api.server import server_options

        st = state(ctx)
        bind_host, bind_port = host or st.settings.host, port or st.settings.port
        check_bind(bind_host, st.settings, allow_remote_without_key)
        server = build_chat_server(st.service(), st.settings, host=bind_host, port=bind_port)
        err(f"sanad: chat on http://{bind_host}:{bind_port}")
        uvicorn.run(server, host=bind_host, port=bind_port, log_level="warning", **server_options())
