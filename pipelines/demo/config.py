"""The demo's FinOps configuration: the project's catalog and policy, dated to the demo's weeks.

`routeledger demo` prices with a copy of `pricing/catalog.yaml` written beside its logs
(`data/demo/pricing/catalog.yaml`) in which each of the scenario's PRICE_CHANGES becomes
an effective-dated entry: the published rates until the Monday of its week, then the
negotiated ones. The project's `pricing/policy.yaml` is copied beside it, so the build
reads it as it would a team's.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from pipelines.demo import scenario as sc
from pipelines.prices import build_price_book
from pipelines.prices.catalog import PROJECT_CATALOG, _DecimalLoader
from pipelines.resources import PROJECT_ROOT

PROJECT_POLICY = PROJECT_ROOT / "pricing" / "policy.yaml"
RATES = ("input", "cached_input", "cache_write", "cache_write_1h", "output")


def write_demo_pricing(directory: Path, end: date, weeks: int = 12) -> Path:
    """Write the demo's catalog and policy under `directory/pricing/`; return the catalog's path."""
    first_monday = end - timedelta(days=7 * weeks - 1)
    catalog = yaml.load(PROJECT_CATALOG.read_text(), Loader=_DecimalLoader)
    book = build_price_book(PROJECT_CATALOG)
    for change in sc.PRICE_CHANGES:
        starts = datetime.combine(first_monday + timedelta(days=7 * (change.week - 1)), time(), UTC)
        rows = [row for row in book.models[(change.provider, change.model)].rows if row.service_tier == "default"]
        before = [row for row in sorted(rows, key=lambda row: row.effective_from) if row.effective_from < starts]
        prices = [_price(row, row.effective_from, Decimal(1)) for row in before]
        prices.append(_price(before[-1], starts, Decimal(change.factor)))
        key = (change.provider, change.model)
        entry = next((m for m in catalog["models"] if (m["provider"], m["model"]) == key), None)
        if entry is None:
            entry = {"provider": change.provider, "model": change.model}
            catalog["models"].append(entry)
        entry["prices"] = prices
    target = directory / "pricing"
    target.mkdir(parents=True, exist_ok=True)
    path = target / "catalog.yaml"
    header = "# Written by `routeledger demo` from pricing/catalog.yaml, with the demo's negotiated prices.\n"
    path.write_text(header + yaml.dump(catalog, Dumper=_DecimalDumper, sort_keys=False, allow_unicode=True))
    if PROJECT_POLICY.exists():
        shutil.copyfile(PROJECT_POLICY, target / "policy.yaml")
    return path


def _price(row, effective_from: datetime, factor: Decimal) -> dict:
    """A catalog price row: the published row's rates times `factor`, from `effective_from`
    (a date at midnight UTC, else the instant as `...Z`)."""
    midnight = effective_from.timetz() == time(tzinfo=UTC)
    return {
        "effective_from": effective_from.date() if midnight else effective_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{name: getattr(row, name) * factor for name in RATES},
        "batch_multiplier": row.batch_multiplier,
    }


class _DecimalDumper(yaml.SafeDumper):
    """Decimals written as plain numbers (5.0, 0.4), so the catalog reads them back exactly; no aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = f"{value.normalize():f}"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text if "." in text else text + ".0")


_DecimalDumper.add_representer(Decimal, _decimal)
