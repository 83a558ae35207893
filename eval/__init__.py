"""Eval runner: scores suites against reference answers through the rag facade."""
