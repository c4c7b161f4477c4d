"""The app factory each worker process of ``matcher serve --workers N`` calls.

uvicorn starts N processes, on Linux each with a listening socket of its own
(:mod:`matcher.web.supervisor`); each imports this module and calls :func:`create`
(``Config("matcher.web.worker:create", factory=True, workers=N)``). The
settings come from the parent in the ``MATCHER_SERVE`` environment variable (JSON: the
workspace, the limits, how often to read CURRENT) and the API keys in ``MATCHER_SERVE_KEYS``
(one per line; the environment of a process is readable only by its user and root, unlike its
command line). Each worker opens the workspace's current version itself: the index files are
memory-mapped, so the workers share their pages in the kernel's page cache; each holds its own
model and follows CURRENT on its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

SETTINGS_ENV = "MATCHER_SERVE"
KEYS_ENV = "MATCHER_SERVE_KEYS"


@dataclass(frozen=True)
class WorkerSettings:
    workspace: str
    model: str | None
    rate_limit: int
    max_body_bytes: int
    follow_s: float | None
    shared_rate_limit: str | None
    cors_origins: list[str]

    def to_env(self, keys: list[str]) -> dict[str, str]:
        return {SETTINGS_ENV: json.dumps(asdict(self)), KEYS_ENV: "\n".join(keys)}


def create() -> FastAPI:
    """One worker's app: opens the current version, warms it, and follows CURRENT."""
    from matcher.search import Matcher
    from matcher.store.workspace import Workspace
    from matcher.web.app import create_app

    settings = WorkerSettings(**json.loads(os.environ[SETTINGS_ENV]))
    keys = [k for k in os.environ.get(KEYS_ENV, "").split("\n") if k]
    matcher = Matcher(Workspace(Path(settings.workspace)), settings.model)
    app = create_app(
        matcher,
        api_key=keys or None,
        rate_limit=settings.rate_limit,
        max_body_bytes=settings.max_body_bytes,
        follow_s=settings.follow_s,
        shared_rate_limit=Path(settings.shared_rate_limit) if settings.shared_rate_limit else None,
        cors_origins=settings.cors_origins,
    )
    app.state.follower.service.warm_up()
    return app
