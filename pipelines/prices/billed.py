"""Model names as providers bill them -> names the price resolver knows, in one place.

Bills name models their own way: AWS Bedrock billing names (`Claude4.6Sonnet`,
`Nova2.0Lite`) and model ids (`us.anthropic.claude-sonnet-4-6-20260101-v1:0`), Azure
meter fragments (`gpt-4o-mini-0718`, `GPT 4.1 nano`, `5 mini`, `R1`), Vertex AI SKU
names (`Gemini 2.5 Flash`). `resolve_billed` tries the name as billed first, through
the same resolution as logged models (catalog names and aliases, then genai-prices),
then each normalised candidate in turn; the map keeps the name as billed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from pipelines.prices import PriceBook, Resolution, resolve_models

BEDROCK_CLAUDE = re.compile(r"^claude(\d+(?:\.\d+)?)([a-z]+)$")  # Claude4.6Sonnet, Claude3Haiku
BEDROCK_ID = re.compile(
    r"^(?:[a-z]{2,4}\.)?(?:anthropic|openai|meta|mistral|amazon|deepseek|google|cohere)\.(.+?)(?:-v\d+(?::\d+)?)?$"
)
AZURE_DATE = re.compile(r"^(.+?)-(\d{4})$")  # gpt-4o-mini-0718: a month and day, not a version
DATED = re.compile(r"^(.+?)-(\d{4}-\d{2}-\d{2}|\d{8})$")
ALIASES = {"r1": "deepseek-r1", "v3": "deepseek-v3"}


def billed_candidates(model: str) -> list[str]:
    """Names to try for a billed model name, most specific first (the name itself not included)."""
    name = model.strip().lower()
    candidates: list[str] = []
    if m := BEDROCK_ID.match(name):
        name = m.group(1)
        candidates.append(name)
    if m := BEDROCK_CLAUDE.match(name):
        version, family = m.groups()
        candidates += [f"claude-{family}-{version.replace('.', '-')}", f"claude-{version.replace('.', '-')}-{family}"]
    # camel case and spaces to dashes: NovaLite -> nova-lite, "GPT 4.1 nano" -> gpt-4.1-nano
    dashed = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", model.strip()).lower() if not candidates else name
    dashed = re.sub(r"[\s_]+", "-", dashed).strip("-")
    dashed = ALIASES.get(dashed, dashed)
    if re.match(r"^\d", dashed):  # Azure's "5 mini": the GPT family
        dashed = "gpt-" + dashed
    candidates.append(dashed)
    for pattern in (DATED, AZURE_DATE):
        if m := pattern.match(dashed):
            candidates.append(m.group(1))
    return [c for c in dict.fromkeys(candidates) if c != model]


def resolve_billed(book: PriceBook, seen: Iterable[tuple[str, str]]) -> list[Resolution]:
    """Map each billed (provider, model) onto a priced model, or mark it unpriced; the model as billed is kept."""
    resolutions = []
    for provider, model in seen:
        (found,) = resolve_models(book, [(provider, model)])
        for candidate in billed_candidates(model) if found.price_model is None else ():
            (tried,) = resolve_models(book, [(provider, candidate)])
            if tried.price_model is not None:
                found = replace(tried, provider=provider, model=model)
                break
        resolutions.append(found)
    return resolutions
