"""`matcher serve`: the JSON API and the web page over one opened index."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from matcher.cli.base import _note, _ProgressBar, _query_workspace, app
from matcher.cli.options import ModelOpt, WorkspaceOpt
from matcher.errors import InputError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    workspace: WorkspaceOpt = None,
    sample: Annotated[bool, typer.Option("--sample", help="Serve the bundled, fictional sample cluster.")] = False,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 8000,
    api_key: Annotated[
        Optional[str],
        typer.Option(
            "--api-key",
            envvar="MATCHER_API_KEY",
            show_envvar=True,
            help="Require this key in the X-API-Key header (the page asks for it once).",
        ),
    ] = None,  # fmt: skip
    api_key_file: Annotated[
        Optional[Path],
        typer.Option(
            "--api-key-file",
            envvar="MATCHER_API_KEY_FILE",
            show_envvar=True,
            help="Read the keys from this file, one a line (# comments); any of them is accepted (key rotation).",
        ),
    ] = None,  # fmt: skip
    cors_origin: Annotated[
        Optional[list[str]],
        typer.Option(
            "--cors-origin",
            help="Let a web app on this origin (e.g. https://app.example.org) call the API in a browser (repeatable).",
        ),
    ] = None,
    rate_limit: Annotated[
        int, typer.Option("--rate-limit", min=0, help="Requests per minute per client address; 0 for no limit.")
    ] = 120,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1024, help="Largest request body in bytes (larger: 413).")
    ] = 1_000_000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes sharing the mapped index files.")
    ] = 1,
    forwarded_allow_ips: Annotated[
        Optional[str],
        typer.Option(
            "--forwarded-allow-ips",
            help="The reverse proxy in front (addresses or networks, comma-separated; * for any): only a request "
            "from it may name its client in X-Forwarded-For, which the rate limit then counts apart. "
            "Default: nobody, each request is its peer's address.",
        ),
    ] = None,
    poll: Annotated[
        float,
        typer.Option(
            "--poll",
            min=0,
            help="Seconds between two reads of the index's CURRENT: a newly published version "
            "(a refresh, a rollback) is verified, warmed and swapped in; 0 serves the version opened at start.",
        ),
    ] = 0.5,  # fmt: skip
    model: ModelOpt = None,
) -> None:
    """Serve the JSON API and a web page: similar members, tender rankings, teams, CSV/XLSX downloads.

    The server follows the workspace's index: each version a refresh or a rollback publishes is
    verified, warmed and swapped in while requests keep being answered (a broken one is never
    served; /health says why). API: GET /health (liveness, the version served and the newest),
    GET /ready, GET /metrics (Prometheus), GET /participants/{id}, GET /similar?id=...|text=...,
    POST /suggest and POST /consortium (a tender as JSON or YAML, or an OCDS release); the spec is
    at /openapi.json and the page at /. Logs are JSON lines on stderr. Listens on 127.0.0.1 unless
    --host says otherwise; with --api-key (or MATCHER_API_KEY) or --api-key-file every request but
    /health, /ready and the page's key form (/ui/key) needs the X-API-Key header. With --workers N
    the rate limit is shared by the workers (a SQLite file in the workspace) and /metrics adds up
    every worker's counts. Behind a reverse proxy, --forwarded-allow-ips names it, so that each
    client is counted apart; without it, X-Forwarded-For is ignored (no client can pose as another).

    Example: matcher serve --sample --port 8000

    Example: MATCHER_API_KEY=s3cret matcher serve -w my-cluster --host 0.0.0.0 --workers 4 --rate-limit 60

    Example: matcher serve -w my-cluster --forwarded-allow-ips 127.0.0.1  (behind nginx on this machine)
    """
    # FastAPI, uvicorn and Jinja2 load here, not at `matcher --help`.
    import uvicorn

    from matcher.build import ensure_sample_workspace
    from matcher.search import Matcher
    from matcher.web import create_app
    from matcher.web.keys import read_api_keys
    from matcher.web.logs import logging_config

    if api_key is not None and api_key_file is not None:
        raise InputError(
            "give --api-key (MATCHER_API_KEY) or --api-key-file (MATCHER_API_KEY_FILE), not both; "
            "the environment counts too"
        )
    keys = read_api_keys(api_key_file) if api_key_file is not None else api_key
    if sample:
        if workspace is not None or model is not None:
            raise InputError("--sample serves the bundled sample with the default model; drop --workspace/--model")
        with _ProgressBar("Embedding sample members") as update:
            ws = ensure_sample_workspace(notify=_note, progress=update)
    else:
        ws = _query_workspace(workspace)
    follow_s = poll or None
    matcher = Matcher(ws, model)  # opened (and verified) here too, so that a broken index fails before workers start
    if not _is_loopback(host) and keys is None:
        _note(f"Listening on {host} without an API key: anyone who can reach it can query. Set --api-key.")
    where = (
        f"{ws.root} (index {matcher.version.name}, {len(matcher.members)} members) at http://{host}:{port}/ "
        f"with {workers} worker{'s' if workers > 1 else ''} · API spec /openapi.json · Ctrl+C stops"
    )
    if workers == 1:
        application = create_app(
            matcher, api_key=keys, rate_limit=rate_limit, max_body_bytes=max_body, follow_s=follow_s,
            cors_origins=cors_origin or (),
        )  # fmt: skip
        application.state.follower.service.warm_up()
        _note(f"Serving {where}")
        uvicorn.run(
            application, host=host, port=port, log_config=logging_config(), access_log=False,
            **_proxy_options(forwarded_allow_ips),
        )  # fmt: skip
        return
    key_list = [keys] if isinstance(keys, str) else list(keys or ())
    _serve_workers(
        ws.root, model, workers, host, port, key_list, rate_limit, max_body, follow_s, cors_origin or [], where,
        _proxy_options(forwarded_allow_ips),
    )  # fmt: skip


def _proxy_options(trusted: str | None) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-For and -Proto believed from `trusted` only, or from nobody
    (uvicorn's own default believes 127.0.0.1, so that any local process could pose as any client)."""
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": [ip.strip() for ip in trusted.split(",") if ip.strip()]}


def _serve_workers(
    root: Path,
    model: str | None,
    workers: int,
    host: str,
    port: int,
    keys: list[str],
    rate_limit: int,
    max_body: int,
    follow_s: float | None,
    cors_origins: list[str],
    where: str,
    proxy: dict[str, Any],
) -> None:
    """uvicorn's supervisor over `workers` processes (a dead one is replaced), each calling
    matcher.web.worker.create and, on Linux, listening on a socket of its own (SO_REUSEPORT: the
    kernel spreads the connections; matcher.web.supervisor); metrics added up through
    prometheus_client's multiprocess files."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from matcher.threads import thread_count
    from matcher.web.logs import logging_config
    from matcher.web.supervisor import run_workers
    from matcher.web.worker import WorkerSettings

    metrics_dir = tempfile.mkdtemp(prefix="matcher-metrics-")
    settings = WorkerSettings(
        workspace=str(root), model=model, rate_limit=rate_limit, max_body_bytes=max_body, follow_s=follow_s,
        shared_rate_limit=str(root / "serve" / "rate-limit.sqlite3") if rate_limit else None,
        cors_origins=cors_origins,
    )  # fmt: skip
    os.environ.update(settings.to_env(keys))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read by prometheus_client when a worker imports it
    # N workers share the cores: each one's math libraries get its share, not all of them each.
    share = str(max(1, thread_count() // workers))
    for var in ("MATCHER_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, share)
    _note(f"Serving {where}")
    config = uvicorn.Config(
        "matcher.web.worker:create", factory=True, workers=workers, host=host, port=port,
        log_config=logging_config(), access_log=False, **proxy,
    )  # fmt: skip
    try:
        run_workers(config)
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
