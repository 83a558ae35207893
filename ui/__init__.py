"""Gradio chat UI: a thin layer over the rag facade."""
