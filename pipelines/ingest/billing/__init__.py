"""Ingest provider billing exports into raw.billing_lines and raw.billing_usage.

One module per source family (`openai`, `anthropic`, `focus`), each turning a file
into SQL over DuckDB's own readers; `labels` parses billed labels (OpenAI line items,
Bedrock usage types, Azure meters, Vertex AI SKUs) into model and token class;
`stage` loads what a format staged, with the same promises as routing logs (the
machinery of `pipelines.ingest.loads`); `run` detects formats and drives the command.
"""
