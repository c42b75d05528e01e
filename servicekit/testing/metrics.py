"""Reading a Prometheus exposition back in tests, with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(exposition: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(exposition) for sample in family.samples]


def value(exposition: str, name: str, **labels: str) -> float:
    """The one sample called ``name`` with exactly these labels (fails if there is none)."""
    found = [sample.value for sample in samples(exposition) if sample.name == name and sample.labels == labels]
    if len(found) != 1:
        msg = f"{name}{labels} not in:\n{exposition}"
        raise AssertionError(msg)
    return found[0]
