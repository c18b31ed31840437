"""aggregator: merge Afghan news feeds into one deduplicated feed and a daily digest."""

__version__ = "0.1.0"
