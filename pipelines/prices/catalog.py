"""The team's price catalog file (`pricing/catalog.yaml`, DESIGN.md §3), validated with pydantic.

An entry wins over the published price of the same provider and model; an entry
without `prices` only names the model's routing tier and aliases. Errors name the
file, the entry (provider/model) and the field; YAML numbers are read as exact decimals.

The limits below are what the warehouse's money types hold (sql/staging/stg_prices.sql):
any catalog that validates builds, also for calls of MAX_TOKENS tokens in every class.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserError, first_line
from pipelines.ingest.fields import MAX_TOKENS  # per call and token class, as ingest accepts them
from pipelines.resources import PROJECT_CATALOG

DEFAULT_CATALOG = Path("pricing/catalog.yaml")
DEFAULT_TIER = "default"  # the service tier of the base prices
PRICE_PLACES = 9  # decimal places a price per 1M tokens may carry (DECIMAL(18,9))
MAX_PRICE = Decimal(10_000)  # USD per 1M tokens: 0.01 USD a token

MAX_CATALOG_BYTES = 4 * 1024 * 1024
# YAML aliases can repeat a node exponentially often (an "alias bomb"): a document
# larger than this, counted with every alias expanded, is refused before it is read.
MAX_EXPANDED_NODES = 100_000

Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, max_digits=18, decimal_places=PRICE_PLACES)]
# A time-of-day window's multiplier of the period's prices, and a regional uplift.
Multiplier = Annotated[Decimal, Field(gt=0, le=100, decimal_places=4)]
Uplift = Annotated[Decimal, Field(ge=1, le=10, decimal_places=4)]
FeePer1k = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, max_digits=18, decimal_places=6)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: mon = 1
MINUTES_PER_DAY = 24 * 60


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LongContext(_Strict):
    threshold_input_tokens: int = Field(gt=0, le=MAX_TOKENS)
    input: Price
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price


class TierPrices(_Strict):
    """Overrides for one service tier; a price not given is the base row's."""

    input: Price | None = None
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price | None = None


class Window(_Strict):
    """Hours of the week in one time zone when a price period's rates differ (peak, off-peak).

    `hours` are local wall-clock ranges "HH:MM-HH:MM", start inclusive, end exclusive
    (24:00 = midnight at the end of the day); `weekdays` are those of the local date. A
    window's rates are the period's rates (every service tier, long context included)
    times `multiplier`, except the default tier's prices given here explicitly.
    """

    name: str = Field(min_length=1)
    time_zone: str = "UTC"
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(WEEKDAYS)
    hours: list[str] = Field(min_length=1)
    multiplier: Multiplier = Decimal(1)
    input: Price | None = None
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{zone!r} is not an IANA time zone (for example UTC or Asia/Shanghai)") from exc
        return zone

    @field_validator("weekdays")
    @classmethod
    def _some_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError("names no weekday")
        if len(days) != len(set(days)):
            raise ValueError("names a weekday twice")
        return days

    @field_validator("hours")
    @classmethod
    def _ranges(cls, hours: list[str]) -> list[str]:
        for text in hours:
            parse_hours(text)
        return hours

    def ranges(self) -> list[tuple[int, int]]:
        """(start, end) minutes of the local day, end exclusive."""
        return [parse_hours(text) for text in self.hours]

    def iso_weekdays(self) -> tuple[int, ...]:
        return tuple(sorted(WEEKDAYS.index(day) + 1 for day in self.weekdays))


def parse_hours(text: object) -> tuple[int, int]:
    """'01:00-04:00' as minutes of the day (60, 240); the end may be 24:00 and must follow the start."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"hours {text!r}: write a range such as '01:00-04:00'")
    start, end = (_minute(part.strip(), text) for part in text.split("-"))
    if end > MINUTES_PER_DAY or start >= MINUTES_PER_DAY:
        raise ValueError(f"hours {text!r}: past 24:00")
    if end <= start:
        raise ValueError(f"hours {text!r}: the end must follow the start (split a range over midnight in two)")
    return start, end


def _minute(part: str, text: str) -> int:
    pieces = part.split(":")
    if len(pieces) != 2 or not all(p.isdigit() and len(p) == 2 for p in pieces) or int(pieces[1]) > 59:
        raise ValueError(f"hours {text!r}: {part!r} is not HH:MM")
    return int(pieces[0]) * 60 + int(pieces[1])


def utc_instant(value: date | datetime) -> datetime:
    """An effective date at 00:00 UTC, or an effective time (with its offset) in UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset: write it with Z, e.g. 2026-08-16T16:00:00Z")
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


class CatalogPrice(_Strict):
    effective_from: datetime | date
    input: Price
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price
    batch_multiplier: Annotated[Decimal, Field(gt=0, le=1, decimal_places=6)] | None = None
    long_context: LongContext | None = None
    service_tiers: dict[str, TierPrices] = {}
    web_search_per_1k: FeePer1k | None = None  # USD per 1,000 web-search calls
    windows: list[Window] = []

    @field_validator("effective_from")
    @classmethod
    def _in_utc(cls, value: date | datetime) -> datetime:
        return utc_instant(value)

    @field_validator("windows")
    @classmethod
    def _windows_apart(cls, windows: list[Window]) -> list[Window]:
        """Windows of one period share a time zone and never overlap, so a call is in one at most."""
        names = [w.name for w in windows]
        if len(names) != len(set(names)):
            raise ValueError("two windows have the same name")
        if len({w.time_zone for w in windows}) > 1:
            raise ValueError("the windows of one price name different time zones; use one")
        slots = [(day, start, end, w.name) for w in windows for day in w.iso_weekdays() for start, end in w.ranges()]
        for i, (day, start, end, name) in enumerate(slots):
            for other_day, other_start, other_end, other in slots[i + 1 :]:
                if day == other_day and start < other_end and other_start < end:
                    weekday = WEEKDAYS[day - 1]
                    raise ValueError(f"windows {name!r} and {other!r} overlap on {weekday}")
        return windows

    @field_validator("service_tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: dict[str, TierPrices]) -> dict[str, TierPrices]:
        """Tier names are matched trimmed and lower-cased, so two keys must not meet there."""
        seen: dict[str, str] = {}
        for key in tiers:
            tier = key.strip().lower()
            if not tier:
                raise ValueError(f"service tier {key!r} is blank")
            if tier == DEFAULT_TIER:
                raise ValueError(f"service tier {key!r} would replace the base prices (the {DEFAULT_TIER!r} tier)")
            if tier in seen:
                raise ValueError(f"service tiers {seen[tier]!r} and {key!r} are the same tier {tier!r}")
            seen[tier] = key
        return tiers


class Capabilities(_Strict):
    """What the model can do, as its provider publishes it; a capability not given is unknown.

    Routes may require them (pricing/policy.yaml `requires:`, marts.policy_violations).
    """

    context_window: int | None = Field(default=None, gt=0, le=MAX_TOKENS)  # input + output tokens
    tool_calling: bool | None = None
    structured_output: bool | None = None
    regions: list[str] | None = None  # where the model may run; matched with the calls' logged region

    @field_validator("tool_calling", "structured_output", mode="before")
    @classmethod
    def _strict_bool(cls, value: object) -> object:
        if value is not None and not isinstance(value, bool):
            raise ValueError("write true or false")
        return value

    @field_validator("regions")
    @classmethod
    def _lower_regions(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        if not values:
            raise ValueError("names no region; leave regions out when they are not known")
        return sorted({_name(v) for v in values})


class CatalogModel(_Strict):
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    aliases: list[str] = []
    tier: Literal["low", "balanced", "premium"] | None = None
    capabilities: Capabilities | None = None
    # Empty: the entry only names a tier or aliases, and the published prices apply.
    prices: list[CatalogPrice] = []

    @field_validator("provider", "model")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _name(value)

    @field_validator("aliases")
    @classmethod
    def _lower_aliases(cls, values: list[str]) -> list[str]:
        return [_name(v) for v in values]

    @model_validator(mode="after")
    def _distinct_dates(self) -> CatalogModel:
        dates = [p.effective_from for p in self.prices]
        if len(dates) != len(set(dates)):
            raise ValueError("two prices have the same effective_from")
        return self


class RegionalUplift(_Strict):
    """A multiplier on the token cost of calls logged in one of `regions`, from `effective_from`.

    `models` is a glob on the priced model id (`claude-*`). When several uplifts match a
    call, the newest effective_from wins, then the one listed last.
    """

    provider: str = Field(min_length=1)
    models: str = Field(default="*", min_length=1)
    regions: list[str] = Field(min_length=1)
    multiplier: Uplift
    effective_from: datetime | date

    @field_validator("provider", "models")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _name(value)

    @field_validator("regions")
    @classmethod
    def _lower_regions(cls, values: list[str]) -> list[str]:
        return [_name(v) for v in values]

    @field_validator("effective_from")
    @classmethod
    def _in_utc(cls, value: date | datetime) -> datetime:
        return utc_instant(value)


class Catalog(_Strict):
    currency: Literal["USD"] = "USD"
    models: list[CatalogModel] = []
    regional_uplifts: list[RegionalUplift] = []

    @model_validator(mode="after")
    def _unique_models(self) -> Catalog:
        seen: dict[tuple[str, str], str] = {}
        for entry in self.models:
            for name in [entry.model, *entry.aliases]:
                key = (entry.provider, name)
                if key in seen:
                    raise ValueError(f"{entry.provider}/{name} is listed twice (also under {seen[key]})")
                seen[key] = entry.model
        return self


def _name(value: str) -> str:
    name = value.strip().lower()
    if not name:
        raise ValueError("must not be blank")
    return name


class _DecimalLoader(yaml.SafeLoader):
    """YAML with floats read as Decimal, so 0.1 stays exactly 0.1, and a budget for aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded: dict[int, tuple[yaml.Node, int]] = {}  # id(node) -> (node, its size expanded)

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        node = super().compose_node(parent, index)
        if id(node) not in self._expanded:  # an alias returns a node already counted
            if isinstance(node, yaml.MappingNode):
                children = [child for pair in node.value for child in pair]
            else:
                children = node.value if isinstance(node, yaml.SequenceNode) else []
            size = 1 + sum(self._expanded[id(child)][1] for child in children)
            if size > MAX_EXPANDED_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_EXPANDED_NODES:,} values with its aliases expanded (an alias bomb?)",
                    node.start_mark,
                )
            self._expanded[id(node)] = (node, size)
        return node


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    # YAML spells infinity and not-a-number .inf and .nan; the price check refuses both by name.
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    try:
        return Decimal(special.get(text.lower(), text))
    except InvalidOperation:  # YAML 1.1 floats include sexagesimal 1:30.5
        problem = f"{text!r} is not a decimal number"
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def default_catalog() -> Path | None:
    """pricing/catalog.yaml here, else the project's own; None when neither exists."""
    return next((path for path in (DEFAULT_CATALOG, PROJECT_CATALOG) if path.exists()), None)


def load_catalog(path: Path | None = None) -> tuple[Catalog, Path | None]:
    """The catalog at `path`, or the default one; an empty catalog when there is none."""
    chosen = path or default_catalog()
    if chosen is None:
        return Catalog(), None
    data = _read_yaml(chosen)
    try:
        return Catalog.model_validate(data), chosen
    except ValidationError as exc:
        raise UserError(f"{chosen}: {_describe(exc, data)}") from exc


def _read_yaml(path: Path) -> object:
    if not path.exists():
        raise UserError(f"{path}: no such price catalog")
    if not path.is_file():
        raise UserError(f"{path}: not a file; --prices names a catalog file such as pricing/catalog.yaml")
    try:
        if path.stat().st_size > MAX_CATALOG_BYTES:
            raise UserError(f"{path}: larger than {MAX_CATALOG_BYTES // 1024 // 1024} MiB; not a price catalog")
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the price catalog: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start + 1}, line {line})") from exc
    try:
        return yaml.load(text, Loader=_DecimalLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from exc


def _describe(exc: ValidationError, data: object) -> str:
    """One line per problem, naming the entry (provider/model) and the field."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] in ("models", "regional_uplifts") and isinstance(loc[1], int):
            try:
                entry = data[loc[0]][loc[1]]  # type: ignore[index]
                name = entry.get("model") if loc[0] == "models" else entry.get("models", "*")
                where = f"{loc[0]}[{loc[1]}] ({entry.get('provider')}/{name}): " + ".".join(
                    str(part) for part in loc[2:]
                )
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        got = f", got {error['input']!r}" if "input" in error and not isinstance(error["input"], dict) else ""
        problems.append(f"{where}: {error['msg']}{got}")
    return "; ".join(problems)
