"""Gradio chat UI: a thin layer over the rag facade. ``build_ui(service, settings)`` builds it."""

from ui.app import build_ui

__all__ = ["build_ui"]
