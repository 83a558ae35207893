"""HTTP API (FastAPI): a thin layer over the rag facade. ``create_app(service, settings)`` builds it."""

from api.app import create_app

__all__ = ["create_app"]
