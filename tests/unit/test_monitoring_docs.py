"""The Grafana dashboard and the alerting rules of docs/monitoring/ only use metrics the
processes export (a renamed metric must take the docs along)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
from prometheus_client.metrics_core import Metric

from bot.core.metrics import Metrics
from bot.core.settings import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "docs" / "monitoring"
NAME = re.compile(r"\b((?:greenhood|process)_[a-z_]+)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> set[str]:
    metrics = Metrics()
    # Labelled metrics show no sample until they have a child.
    metrics.updates_received.labels("message").inc()
    metrics.updates_handled.labels("message").inc()
    metrics.updates_failed.labels("message").inc()
    metrics.update_seconds.labels("message").observe(0.1)
    metrics.telegram_calls.labels("serving", "sendMessage", "ok").inc()
    metrics.outbox_backlog.labels("due").set(0)
    metrics.job_event("x", "ok")
    metrics.job_event("x", "missed")
    metrics.web_denied.labels("missing").inc()
    families: list[Metric] = list(metrics.registry.collect())
    return {sample.name for family in families for sample in family.samples}


def expressions(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"expr", "query"} and isinstance(item, str):
                yield item
            else:
                yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)


def test_the_grafana_dashboard_uses_exported_metrics() -> None:
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text(encoding="utf-8"))
    used = {name for expr in expressions(dashboard) for name in NAME.findall(expr)}
    assert len(used) >= 15
    assert used - exported() == set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_alerts_use_exported_metrics() -> None:
    rules = yaml.safe_load((FOLDER / "alerts.yml").read_text(encoding="utf-8"))
    [group] = rules["groups"]
    used = {name for expr in expressions(group["rules"]) for name in NAME.findall(expr)}
    assert used - exported() == set()
    assert all(rule["alert"].startswith("Greenhood") for rule in group["rules"])
