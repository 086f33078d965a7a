"""Ingest: one module per source format, each read -> validate -> load."""
