"""Billed labels -> model as billed and token class, in SQL (one expression per label family).

Each function returns SQL for a STRUCT(model, direction, cache_action, cache_ttl,
service_tier, context_tier) from a text column. A label that does not parse gives
NULLs, never a guess: the line is kept, with its raw label in x_RawLineItem.
"""

from __future__ import annotations

from pipelines.ingest.fields import quote

# OpenAI Costs API line_item: "[tier | ]model[ modality], piece[, qualifier]"
# (billing_formats.md 2.2); `cached input` is tried before `input`.
OPENAI_LINE_ITEM = (
    r"(?i)^(?:([a-z_ ]+?)\s*\|\s*)?([^,|]+?)(?:\s+(audio|image|text))?,\s*"
    r"(cached input|input|output)(?:,\s*(.+))?$"
)

OPENAI_MODEL_ONLY = r"(?i)^(?:([a-z_ ]+?)\s*\|\s*)?([^,|\s]+),"


def openai_line_item(column: str) -> str:
    """SQL: the parse of an OpenAI line_item."""
    parts = f"regexp_extract({column}, {quote(OPENAI_LINE_ITEM)}, ['tier', 'model', 'modality', 'piece', 'qual'])"
    # A model line item of another kind (`whisper-1, audio`) still names its model.
    model_only = f"nullif(regexp_extract({column}, {quote(OPENAI_MODEL_ONLY)}, 2), '')"
    return f"""(SELECT {{
        'model': coalesce(nullif(p.model, ''), {model_only}),
        'direction': CASE WHEN lower(p.piece) = 'output' THEN 'Output' WHEN p.piece <> '' THEN 'Input' END,
        'cache_action': CASE lower(p.piece) WHEN 'input' THEN 'Uncached' WHEN 'cached input' THEN 'Read' END,
        'cache_ttl': NULL::VARCHAR,
        'service_tier': nullif(lower(trim(p.tier)), ''),
        'context_tier': CASE WHEN lower(p.qual) LIKE '%long context%' THEN 'long_context' END
    }} FROM (SELECT unnest({parts})) p)"""
