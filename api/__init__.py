"""HTTP API (FastAPI): a thin layer over the rag facade."""
