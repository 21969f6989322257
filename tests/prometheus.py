"""Reading /metrics as Prometheus does: prometheus-client's own parser, then values by labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in self.families.values()
            for sample in family.samples
        }

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a series not exposed (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client, path: str = "/metrics", **headers: str) -> Scrape:
    """GET /metrics with a Django test client, checked to be Prometheus text."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.content.decode())
