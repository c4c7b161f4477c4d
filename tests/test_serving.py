"""Serving that follows the workspace: hot swap of published versions (refresh, rollback, a broken
one), requests pinned to their version, /ready, /metrics, JSON logs with request ids, the shared
rate limit, and several worker processes of which one is killed.

Real parts throughout: a copy of the session's sample workspace (real model, FAISS, files), real
refreshes, and for the workers a real `matcher serve` process on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi.testclient import TestClient

from matcher.refresh import refresh
from matcher.search import Matcher
from matcher.store.workspace import Workspace
from matcher.web import create_app
from matcher.web.guards import SlidingWindow
from matcher.web.ratestore import SharedWindow
from tests.conftest import publish_damaged

NEW_TEXT = "Artificial ground freezing for metro tunnel shafts with brine and liquid nitrogen"


@pytest.fixture
def workspace(sample_workspace, tmp_path) -> Workspace:
    """A copy of the sample workspace (and its source file) that a test may refresh and break."""
    copy = tmp_path / "copy"
    shutil.copytree(sample_workspace.root.parent, copy)
    ws = Workspace(copy / "ws")
    ws.record_sources("participants", [copy / "participants.csv"], replace=True)
    return ws


def change_member(ws: Workspace, text: str = NEW_TEXT) -> str:
    """Rewrites the first member's description in the workspace's source; returns its id."""
    [source] = ws.sources()["participants"]
    rows = list(csv.DictReader(io.StringIO(Path(source).read_text(encoding="utf-8"))))
    rows[0]["description"] = text
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    Path(source).write_text(out.getvalue(), encoding="utf-8")
    return rows[0]["id"]


def similar_top(client: TestClient, text: str) -> tuple[str, str]:
    body = client.get("/similar", params={"text": text, "top_k": 1}).json()
    return body["index_version"], body["suggestions"][0]["participant_id"]


# --- hot swap -----------------------------------------------------------------------------


def test_a_refreshed_version_is_swapped_in_and_answers(workspace):
    app = create_app(Matcher(workspace), rate_limit=0)
    client = TestClient(app)
    old = workspace.current_version().name
    assert app.state.follower.check() is False  # nothing new: no swap
    changed = change_member(workspace)
    new = refresh(workspace).version
    assert client.get("/health").json()["index_version"] == old  # not polled yet
    assert app.state.follower.check() is True
    health = client.get("/health").json()
    assert (health["index_version"], health["newest_version"], health["swaps"]) == (new, new, 1)
    assert similar_top(client, NEW_TEXT) == (new, changed)  # the new text is what answers


def test_a_request_in_flight_finishes_on_the_version_it_began_on(workspace):
    app = create_app(Matcher(workspace), rate_limit=0)
    old_service = app.state.follower.service
    entered, release = threading.Event(), threading.Event()
    real = old_service.similar

    def slow(*args, **kwargs):
        entered.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    old_service.similar = slow  # type: ignore[method-assign]
    answers: list[dict] = []
    with TestClient(app) as client:
        thread = threading.Thread(target=lambda: answers.append(client.get("/similar?text=bridge&top_k=3").json()))
        thread.start()
        assert entered.wait(60)
        change_member(workspace)
        refresh(workspace)
        assert app.state.follower.check() is True  # swapped while the request is inside the old version
        after = client.get("/similar?text=bridge&top_k=3").json()
        release.set()
        thread.join(60)
    old, new = old_service.index_version, app.state.follower.service.index_version
    assert old != new
    assert answers[0]["index_version"] == old and after["index_version"] == new


def test_a_broken_version_is_never_served_and_health_says_why(workspace, caplog):
    app = create_app(Matcher(workspace), rate_limit=0)
    client = TestClient(app)
    good = workspace.current_version().name
    broken = publish_damaged(workspace, "vectors.npy")
    with caplog.at_level(logging.ERROR, logger="matcher.web.swap"):
        assert app.state.follower.check() is False
    [logged] = [r for r in caplog.records if r.name == "matcher.web.swap" and r.levelno == logging.ERROR]
    assert logged.version == broken.name and logged.served == good
    assert "vectors.npy" in logged.reason and "truncated" in logged.reason
    health = client.get("/health").json()
    assert health["index_version"] == good and health["newest_version"] == broken.name
    assert health["swap_failure"]["version"] == broken.name
    assert "vectors.npy" in health["swap_failure"]["reason"] and "truncated" in health["swap_failure"]["reason"]
    assert str(workspace.root) not in json.dumps(health)  # no server paths to whoever asks /health
    assert client.get("/ready").status_code == 200  # the old version still serves
    assert similar_top(client, "bridge")[0] == good
    assert app.state.follower.check() is False  # not retried at every poll
    metrics = client.get("/metrics").text
    assert "matcher_index_swap_failures_total 1.0" in metrics
    # CURRENT moved back to the served version: nothing to swap, and the failure is gone from /health.
    workspace.point_current_at(workspace.versions_dir / good)
    assert app.state.follower.check() is False and client.get("/health").json()["swap_failure"] is None
    # The next refresh, over the broken version again, builds from the good one and is served.
    workspace.point_current_at(broken)
    assert app.state.follower.check() is False
    changed = change_member(workspace)
    new = refresh(workspace).version
    assert not broken.exists()  # pruned: it could never serve
    assert app.state.follower.check() is True
    assert similar_top(client, NEW_TEXT) == (new, changed)


def test_a_rollback_is_followed(workspace):
    app = create_app(Matcher(workspace), rate_limit=0)
    client = TestClient(app)
    first = workspace.current_version().name
    change_member(workspace)
    refresh(workspace)
    assert app.state.follower.check() is True
    assert workspace.rollback().name == first
    assert app.state.follower.check() is True
    assert client.get("/health").json()["index_version"] == first
    assert similar_top(client, NEW_TEXT)[0] == first
    assert "matcher_index_swaps_total 2.0" in client.get("/metrics").text


def test_the_app_follows_current_on_its_own_while_it_runs(workspace):
    app = create_app(Matcher(workspace), rate_limit=0, follow_s=0.05)
    with TestClient(app) as client:  # the lifespan starts the poller
        new = refresh(workspace).version
        for _ in range(600):  # up to a minute on a loaded machine; the poller needs ~0.05 s
            if client.get("/health").json()["index_version"] == new:
                break
            time.sleep(0.1)
        assert client.get("/health").json()["index_version"] == new
    assert app.state.draining is True  # after shutdown /ready would say 503


def test_ready_is_503_while_shutting_down(workspace):
    app = create_app(Matcher(workspace), rate_limit=0)
    client = TestClient(app)
    app.state.draining = True
    response = client.get("/ready")
    assert response.status_code == 503 and response.json()["detail"] == "shutting down"
    assert client.get("/health").status_code == 200  # liveness is another question


# --- metrics and logs ---------------------------------------------------------------------


def test_metrics_count_requests_by_route_template_and_time_the_stages(sample_matcher):
    client = TestClient(create_app(sample_matcher, rate_limit=0))
    client.get("/participants/RU-INN-7842227069")
    client.get("/participants/nobody")
    client.get("/similar", params={"text": "bridge"})
    client.get("/no/such/page")
    text = client.get("/metrics").text
    route = 'route="/participants/{participant_id}"'
    assert f'matcher_http_requests_total{{method="GET",{route},status="200"}} 1.0' in text
    assert f'matcher_http_requests_total{{method="GET",{route},status="404"}} 1.0' in text
    assert 'matcher_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert re.search(r'matcher_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="/similar"', text)
    assert re.search(r'matcher_query_stage_seconds_count\{stage="embed"\} [1-9]', text)
    assert re.search(r'matcher_query_stage_seconds_count\{stage="rank"\} [1-9]', text)
    assert f'matcher_index_version_served{{version="{sample_matcher.version.name}"}} 1.0' in text


def test_logs_are_json_lines_with_the_request_id_and_never_the_key(sample_matcher):
    from pythonjsonlogger.json import JsonFormatter

    from matcher.web.logs import RequestIdFilter, logging_config

    options = {k: v for k, v in logging_config()["formatters"]["json"].items() if k != "()"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))  # the formatter `matcher serve` configures
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("matcher")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    key = "k3y-that-must-never-be-logged"
    try:
        client = TestClient(create_app(sample_matcher, api_key=key, rate_limit=0), follow_redirects=False)
        ok = client.get("/similar", params={"text": "bridge"}, headers={"X-API-Key": key, "X-Request-ID": "abc-123"})
        denied = client.get("/similar", params={"text": "bridge"}, headers={"X-API-Key": key + "x"})
        client.post("/ui/key", data={"api_key": key})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert ok.headers["x-request-id"] == "abc-123" and len(denied.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [r for r in lines if r["message"] == "request"]
    assert [(r["route"], r["status"]) for r in requests] == [("/similar", 200), ("/similar", 401), ("/ui/key", 303)]
    assert requests[0]["request_id"] == "abc-123" and requests[0]["index_version"] == sample_matcher.version.name
    assert {"time", "level", "logger", "pid", "ms", "path"} <= requests[0].keys()
    assert key not in stream.getvalue()


# --- the rate limit, in memory and shared -------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def window_of(request, tmp_path):
    def make(limit: int, clock):
        if request.param == "memory":
            return SlidingWindow(limit, clock=clock)
        return SharedWindow(tmp_path / "rate.sqlite3", limit, clock=clock)

    return make


def test_every_window_slides_and_counts_clients_apart(window_of):
    """The contract of both windows: `limit` per client in any 60 s, the wait until the next."""
    times = iter([0.0, 1.0, 2.0, 2.5, 30.0, 61.0, 61.5])
    window = window_of(2, lambda: next(times))
    assert [window.hit("a"), window.hit("a"), window.hit("a")] == [0.0, 0.0, 58.0]
    assert window.hit("b") == 0.0  # another client has its own count
    assert window.hit("a") == 30.0  # the oldest of a's two falls out at 60 s
    assert window.hit("a") == 0.0 and window.hit("a") == 0.0  # at 61 s the hits of 0 s and 1 s are out
    assert window.limit == 2


def _hammer(path: str, hits: int, out) -> None:
    window = SharedWindow(Path(path), 50)
    out.put(sum(window.hit("10.0.0.1") == 0.0 for _ in range(hits)))


def test_the_shared_window_holds_across_processes(tmp_path):
    """Three processes share one limit of 50: together they let exactly 50 through, not 150."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path / "rate.sqlite3"), 40, out)) for _ in range(3)]
    for p in procs:
        p.start()
    allowed = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert sum(allowed) == 50


def test_two_apps_on_one_shared_window_answer_429_past_the_limit_between_them(sample_matcher, tmp_path, monkeypatch):
    """Through the middleware, as two workers of one server: 3 requests in all, not 3 each; and each
    hit is counted in a worker thread, off the event loop, as it may wait for the other's lock."""
    on_loop = []
    hit = SharedWindow.hit

    def counted(self, client):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return hit(self, client)

    monkeypatch.setattr(SharedWindow, "hit", counted)
    path = tmp_path / "rate.sqlite3"
    workers = [
        TestClient(create_app(sample_matcher, rate_limit=3, shared_rate_limit=path, clock=lambda: 1000.0))
        for _ in range(2)
    ]
    answers = [workers[i % 2].get("/health") for i in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
    assert answers[3].headers["retry-after"] == "60" and "3 requests per minute" in answers[3].json()["detail"]
    assert on_loop == [False] * 6


def test_an_unwritable_shared_window_is_a_clear_error(tmp_path):
    from matcher.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="--rate-limit 0"):
        SharedWindow(blocker / "rate.sqlite3", 5)


# --- several workers ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers(parent: int) -> set[int]:
    """The uvicorn worker processes of a server: its children started by multiprocessing's spawn."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


LIMIT = 400  # per minute and client: over the test's own requests to the server (at most ~250 a minute)


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the workers through /proc")
def test_a_killed_worker_is_replaced_and_the_others_keep_answering(workspace, tmp_path):
    server, log, base = _serve(
        workspace, tmp_path, "--workers", "2", "--rate-limit", str(LIMIT), "--forwarded-allow-ips", "127.0.0.1"
    )
    try:
        deadline = time.monotonic() + 300
        while len(_workers(server.pid)) < 2 or not _up(base):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        before = _workers(server.pid)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        answered = 0
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(40):  # the survivor answers while the victim is replaced
                response = client.get("/similar", params={"text": "bridge repair", "top_k": 3})
                assert response.status_code == 200 and response.json()["suggestions"]
                assert response.json()["index_version"] == workspace.current_version().name
                answered += 1
            while len(_workers(server.pid) - {victim}) < 2:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
            after = _workers(server.pid)
            assert victim not in after and len(after) == 2 and len(after & before) == 1
            metrics = client.get("/metrics").text  # the workers' counts, added up
            total = sum(
                float(m)
                for m in re.findall(r'matcher_http_requests_total\{[^}]*route="/similar"[^}]*\} (\S+)', metrics)
            )
            assert total >= answered
        assert answered == 40
        _both_answer_and_share_the_limit(base, after, deadline, tmp_path / "serve.log")
    finally:
        _stop(server, log)


def _serve(workspace: Workspace, tmp_path: Path, *options: str) -> tuple[subprocess.Popen, IO[str], str]:
    """`matcher serve` over the workspace on a free port of 127.0.0.1, its output in tmp_path/serve.log:
    the process, the open log and the base URL."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "serve", "-w", str(workspace.root), "--port", str(port), *options],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )  # fmt: skip
    return server, log, f"http://127.0.0.1:{port}"


def _stop(server: subprocess.Popen, log) -> None:
    """SIGINT, as Ctrl+C: the server stops gracefully and no worker is left behind."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    assert not _workers(server.pid)


def _both_answer_and_share_the_limit(base: str, workers: set[int], deadline: float, log: Path) -> None:
    """Each request on a connection of its own, which either worker may accept: both answer (the
    new one once it has loaded), and one client gets LIMIT answers from the two together, then 429.

    The client is an address of its own (X-Forwarded-For, which the server believes from 127.0.0.1
    as told by --forwarded-allow-ips), so that the test's other requests do not count against it."""
    with httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as fresh:
        seen: set[int] = set()
        while seen != workers:
            assert time.monotonic() < deadline, log.read_text()
            worker = fresh.get("/health").json()["worker"]
            assert worker in workers
            seen.add(worker)
            time.sleep(0.25)  # the test's own address stays under the limit too
        burst = [fresh.get("/health", headers={"X-Forwarded-For": "203.0.113.7"}) for _ in range(LIMIT + 3)]
    allowed = [r for r in burst if r.status_code == 200]
    assert len(allowed) == LIMIT and [r.status_code for r in burst[LIMIT:]] == [429] * 3
    assert {r.json()["worker"] for r in allowed} == workers, "both workers counted in the one window"


def _listening(base: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=1).close()
        return True
    except OSError:
        return False


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the workers through /proc")
def test_a_burst_of_keep_alive_connections_is_spread_over_the_workers(workspace, tmp_path):
    """16 connections opened at once, each then asking /health which worker holds it: with one shared
    socket the worker in accept() took nearly all of them; with a socket per worker (SO_REUSEPORT)
    the kernel's hash over the client ports gives each worker a share."""
    from matcher.web.supervisor import REUSE_PORT

    if not REUSE_PORT:
        pytest.skip("no SO_REUSEPORT balancing here: the workers share one socket")
    server, log, base = _serve(workspace, tmp_path, "--workers", "2", "--rate-limit", "0")
    try:
        deadline = time.monotonic() + 300
        workers: set[int] = set()
        while len(workers) < 2:  # both loaded and listening: fresh connections reach each of them
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            try:
                workers.add(httpx.get(base + "/health", timeout=5).json()["worker"])
            except httpx.HTTPError:
                time.sleep(0.5)

        async def burst() -> list[int]:
            async def one(client: httpx.AsyncClient) -> int:
                response = await client.get("/health")
                return int(response.json()["worker"])

            clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(16)]
            try:
                return await asyncio.gather(*(one(c) for c in clients))  # one connection each, all at once
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))

        split = asyncio.run(burst())
        counts = {worker: split.count(worker) for worker in workers}
        assert set(split) <= workers
        assert min(counts.values()) >= 2, f"connections per worker: {counts}"
    finally:
        _stop(server, log)


def test_without_a_named_proxy_x_forwarded_for_cannot_pose_as_another_client(workspace, tmp_path):
    """By default nobody may name the client: three requests from here, each claiming another
    address, are one client to the rate limit (2 a minute), so the third is refused."""
    server, log, base = _serve(workspace, tmp_path, "--rate-limit", "2")
    try:
        deadline = time.monotonic() + 300
        while not _listening(base):  # every route counts against the limit, /ready too: only connect
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        claims = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(3)]
        codes = [httpx.get(base + "/participants/none", headers=h, timeout=60).status_code for h in claims]
        assert codes[:2] == [404, 404] and codes[2] == 429, codes
    finally:
        _stop(server, log)
