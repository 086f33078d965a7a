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


# AWS Bedrock usage types (billing_formats.md 4.2): REGION-Model-kind[-suffixes]
BEDROCK = (
    r"^([A-Z]{2,4}[0-9]?)-(.+?)-(input-tokens|output-tokens|cache-read-input-token-count|"
    r"cache-write-input-token-count)((?:-[a-z0-9.]+)*)$"
)
BEDROCK_MANTLE = (
    r"^([A-Z]{2,4}[0-9]?)-([a-z0-9.\-]+?)-mantle-(input-tokens|output-tokens|cache-read-tokens|cache-write-tokens)(.*)$"
)
# Azure OpenAI meters (5.3): "<model words> [cached] Inp|Input|Inpt|Outp|Output [deployment] [1M] [Tokens]"
AZURE = r"(?i)^(.+?)\s*[- ](cached[- ])?(inp|input|inpt|outp|output|outpt|out)\b(.*)$"
AZURE_DEPLOYMENT = r"(?i)[- ]+(global|glbl|regnl|regional|dzone|data zone|batch)$"
# Vertex AI SKU descriptions (6.2):
# "<Model> [GA] [Global] [Thinking] <Modality> Input|Output [Caching [Storage]] - Predictions"
VERTEX = (
    r"(?i)^(.+?)(?:\s+GA)?(?:\s+Global)?(\s+Thinking)?\s+(?:Text|Image|Audio|Video)?\s*(Input|Output)"
    r"(?:\s+Text)?(\s+Caching)?(\s+Storage)?(?:\s*-\s*Predictions)?$"
)
VERTEX_CACHED = r"(?i)^(.+?)(?:\s+GA)?(?:\s+Global)?\s+Input\s+(?:Text|Image|Audio|Video)\s+(Caching)(\s+Storage)?$"


def bedrock_usage_type(column: str) -> str:
    """SQL: the parse of an AWS Bedrock usage type (`USE1-Claude4.6Sonnet-input-tokens-batch`)."""
    legacy = f"regexp_extract({column}, {quote(BEDROCK)}, ['region', 'model', 'kind', 'suffix'])"
    mantle = f"regexp_extract({column}, {quote(BEDROCK_MANTLE)}, ['region', 'model', 'kind', 'suffix'])"
    return f"""(SELECT {{
        'model': nullif(p.model, ''),
        'direction': CASE WHEN p.kind LIKE 'output%' THEN 'Output' WHEN p.kind <> '' THEN 'Input' END,
        'cache_action': CASE WHEN p.kind LIKE 'cache-read%' THEN 'Read' WHEN p.kind LIKE 'cache-write%' THEN 'Write'
                             WHEN p.kind LIKE 'input%' THEN 'Uncached' END,
        'cache_ttl': nullif(regexp_extract(p.suffix, '-(5m|1h)\\b', 1), ''),
        'service_tier': CASE WHEN p.kind = '' THEN NULL
            ELSE coalesce(nullif(regexp_extract(p.suffix, '-(flex|priority|batch|latency-optimized)\\b', 1), ''),
                          'standard') END,
        'context_tier': CASE WHEN regexp_matches(p.suffix, '-long-(context|ctx)') THEN 'long_context' END
    }} FROM (SELECT CASE WHEN ({mantle}).kind <> '' THEN {mantle} ELSE {legacy} END AS p) t)"""


def azure_meter(column: str) -> str:
    """SQL: the parse of an Azure OpenAI meter name (`gpt-4o-mini-0718-Inp-glbl Tokens`)."""
    parts = f"regexp_extract({column}, {quote(AZURE)}, ['model', 'cached', 'piece', 'rest'])"
    return f"""(SELECT {{
        'model': nullif(regexp_replace(trim(p.model), {quote(AZURE_DEPLOYMENT)}, ''), ''),
        'direction': CASE WHEN lower(p.piece) LIKE 'out%' THEN 'Output' WHEN p.piece <> '' THEN 'Input' END,
        'cache_action': CASE WHEN lower(p.piece) LIKE 'out%' OR p.piece = '' THEN NULL
                             WHEN p.cached <> '' THEN 'Read' ELSE 'Uncached' END,
        'cache_ttl': NULL::VARCHAR,
        'service_tier': CASE WHEN regexp_matches(lower({column}), '\\bbatch\\b') THEN 'batch'
                             WHEN p.piece <> '' THEN 'standard' END,
        'context_tier': NULL::VARCHAR
    }} FROM (SELECT unnest({parts})) p)"""


def vertex_sku(column: str) -> str:
    """SQL: the parse of a Vertex AI SKU description (`Gemini 2.5 Flash GA Text Input - Predictions`)."""
    parts = f"regexp_extract({column}, {quote(VERTEX)}, ['model', 'thinking', 'piece', 'caching', 'storage'])"
    cached = f"regexp_extract({column}, {quote(VERTEX_CACHED)}, ['model', 'caching', 'storage'])"
    return f"""(SELECT {{
        'model': nullif(coalesce(nullif(c.model, ''), p.model), ''),
        -- cache storage is billed per hour, not per token: no direction
        'direction': CASE WHEN p.storage <> '' OR c.storage <> '' THEN NULL
                          WHEN c.caching <> '' THEN 'Input'
                          WHEN lower(p.piece) = 'output' THEN 'Output' WHEN p.piece <> '' THEN 'Input' END,
        'cache_action': CASE WHEN p.storage <> '' OR c.storage <> '' THEN 'Other'
                             WHEN c.caching <> '' OR p.caching <> '' THEN 'Read'
                             WHEN lower(p.piece) = 'input' THEN 'Uncached' END,
        'cache_ttl': NULL::VARCHAR,
        'service_tier': NULL::VARCHAR,
        'context_tier': NULL::VARCHAR
    }} FROM (SELECT {parts} AS p, {cached} AS c) t)"""


OPENAI_MODELS = r"^(openai\.)?(gpt|o[1-9]|chatgpt|text-embedding|whisper|dall-e|ft-gpt|[0-9]+ (mini|nano))"


def provider_of(model: str, *context: str) -> str:
    """SQL: the provider as routing logs name it, from the billed model name, else the seller's name."""
    text = f"lower(concat_ws(' ', {model}, {', '.join(context) or 'NULL'}))"
    return f"""CASE
        WHEN regexp_matches(lower({model}), '(^|[^a-z])(claude)') THEN 'anthropic'
        WHEN regexp_matches(lower({model}), {quote(OPENAI_MODELS)}) THEN 'openai'
        WHEN regexp_matches(lower({model}), 'gemini|gemma') THEN 'google'
        WHEN regexp_matches(lower({model}), 'mistral|mixtral|codestral|magistral|pixtral|ministral') THEN 'mistral'
        WHEN regexp_matches(lower({model}), 'deepseek|^r1$') THEN 'deepseek'
        WHEN regexp_matches(lower({model}), '^(amazon\\.)?nova|titan') THEN 'amazon'
        WHEN regexp_matches(lower({model}), 'llama') THEN 'meta'
        WHEN {text} LIKE '%anthropic%' THEN 'anthropic'
        WHEN {text} LIKE '%openai%' THEN 'openai'
        WHEN {text} LIKE '%mistral%' THEN 'mistral'
        WHEN {text} LIKE '%deepseek%' THEN 'deepseek'
        WHEN {text} LIKE '%google%' THEN 'google'
    END"""
