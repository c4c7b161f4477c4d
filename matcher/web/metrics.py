"""Prometheus metrics of the server (``GET /metrics``), in the client library's conventions.

Counted per request by route template (``/participants/{participant_id}``, never the raw path:
the label set stays small), method and status; the query stages (``embed``, ``rank``) as
histograms; the index version served as a gauge labelled by version (1 for the served one);
swaps and failed swaps as counters.

With several worker processes (``matcher serve --workers N``) each worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` (set by the CLI before the workers start) and ``/metrics``,
whichever worker answers it, adds them up (prometheus_client's multiprocess mode). The version
gauge is then reported per worker (a ``pid`` label), so that a worker still on the old version
shows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.store.locking import pid_alive

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a cached /health (1 ms) to a suggest over a million firms (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PID_FILE = re.compile(r"_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(folder) if folder else None


class Metrics:
    """The server's metrics, in a registry of their own (so that several apps in one process,
    as in the tests, do not collide in the library's global registry)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

        self.registry = CollectorRegistry(auto_describe=True)
        if multiprocess_dir() is None:
            ProcessCollector(registry=self.registry)  # resident memory, CPU, open files of this process
        self.requests = Counter(
            "matcher_http_requests", "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "matcher_http_request_duration_seconds", "Time to answer a request, by route template, method and status.",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stage = Histogram(
            "matcher_query_stage_seconds", "Time of a query stage: embed (its texts), rank (candidates, scores).",
            ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.version = Gauge(
            "matcher_index_version_served", "1 for the index version answered from, 0 for one served before.",
            ["version"], registry=self.registry, multiprocess_mode="liveall",
        )  # fmt: skip
        self.swaps = Counter(
            "matcher_index_swaps", "Newly published index versions swapped in.", registry=self.registry
        )
        self.failed_swaps = Counter(
            "matcher_index_swap_failures", "Published versions that failed to open, verify or answer (not served).",
            registry=self.registry,
        )  # fmt: skip
        self.swap_seconds = Histogram(
            "matcher_index_swap_duration_seconds", "Time to open, verify and warm a new index version.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip

    def served(self, version: str, previous: str | None = None) -> None:
        if previous is not None and previous != version:
            self.version.labels(previous).set(0)
        self.version.labels(version).set(1)

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage.labels(stage).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format: this process's registry, or every worker's values added up."""
        from prometheus_client import generate_latest

        folder = multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry)
        return generate_latest(_multiprocess_registry(folder))


def _multiprocess_registry(folder: Path) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry, multiprocess

    # Forget the live gauges of workers that died (a killed worker is replaced under a new pid);
    # uvicorn's supervisor has no hook for prometheus_client's mark_process_dead.
    for path in folder.glob("gauge_live*_*.db"):
        match = _PID_FILE.search(path.name)
        if match and not pid_alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(folder))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return registry
