"""`matcher serve`: the JSON API and the web page over one opened index."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Optional

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
    model: ModelOpt = None,
) -> None:
    """Serve the JSON API and a web page: similar members, tender rankings, teams, CSV/XLSX downloads.

    The index is opened once at start. API: GET /health, GET /participants/{id},
    GET /similar?id=...|text=..., POST /suggest and POST /consortium (a tender as JSON or YAML,
    or an OCDS release); the spec is at /openapi.json and the page at /. Listens on 127.0.0.1
    unless --host says otherwise; with --api-key (or MATCHER_API_KEY) or --api-key-file every
    request but /health needs the X-API-Key header.

    Example: matcher serve --sample --port 8000

    Example: MATCHER_API_KEY=s3cret matcher serve -w my-cluster --host 0.0.0.0 --rate-limit 60
    """
    # FastAPI, uvicorn and Jinja2 load here, not at `matcher --help`.
    import uvicorn

    from matcher.build import ensure_sample_workspace
    from matcher.search import Matcher
    from matcher.web import create_app
    from matcher.web.keys import read_api_keys

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
    matcher = Matcher(ws, model)
    application = create_app(
        matcher, api_key=keys, rate_limit=rate_limit, max_body_bytes=max_body, cors_origins=cors_origin or ()
    )
    application.state.service.warm_up()
    if not _is_loopback(host) and keys is None:
        _note(f"Listening on {host} without an API key: anyone who can reach it can query. Set --api-key.")
    _note(
        f"Serving {ws.root} (index {matcher.version.name}, {len(matcher.members)} members) at "
        f"http://{host}:{port}/ · API spec /openapi.json · Ctrl+C stops"
    )
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
