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

__all__ = ["register", "build_server", "is_loopback", "check_bind"]


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


def build_server(service: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8321) -> Any:
    """The FastAPI app with the Gradio chat mounted at / (one process, one facade)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from api import create_app
    from ui import build_ui
    from ui.app import mount_ui

    app = create_app(service, settings)
    blocks = build_ui(service, settings)
    return mount_ui(app, blocks, settings, host=host, port=port)


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
        """Run the Gradio chat alone (no HTTP API)."""
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        from ui import build_ui
        from ui.app import launch_ui

        st = state(ctx)
        bind_host, bind_port = host or st.settings.host, port or st.settings.port
        check_bind(bind_host, st.settings, allow_remote_without_key)
        launch_ui(build_ui(st.service(), st.settings), st.settings, host=bind_host, port=bind_port)
