"""Load test of serving during publications: concurrent clients on /suggest and /similar while a
refresh publishes twice and a broken version is published once; writes docs/load-test.json and
the load-test section of docs/benchmarks.md.

1. A workspace of --rows synthetic firms, built as scripts/bench.py builds a size (its vectors
   seeded from the shared all-MiniLM-L6-v2 cache, so nothing is embedded again), or --reuse'd.
2. `matcher serve --workers N --rate-limit 0` on 127.0.0.1, logging to the workdir; up when
   /ready says 200.
3. --clients client tasks for --seconds, each alternating POST /suggest (multi-lot tenders made
   of synthetic firms' texts, and the sample tenders) and GET /similar?text=..., each answer
   recorded with its send time, latency, status and `index_version`.
4. Meanwhile a publisher: at 1/6 of the run a `matcher refresh` after 1% of the firms changed
   (a subprocess, so that it competes for the cores as the nightly job does); at 5/12 a broken
   version (the current one copied under the next version name with --truncate cut to half,
   CURRENT pointed at it); at 2/3 a second refresh, and if that fails over the broken version,
   `matcher index rollback` and the refresh again (both reported). A publication is when this
   script saw CURRENT change (polled every 50 ms). The run lasts past --seconds when the last
   publication came later than --settle seconds before its end.
5. GET /health every 0.2 s, on fresh connections (a keep-alive connection stays on one worker):
   which version each worker serves, what CURRENT names, a swap that failed.
6. The report: requests, errors, p50/p95/p99 by route and by phase, for each publication the
   delay until the first answer, then every worker, carried it, and whether any answer came
   from a version that was not published complete (docs/benchmarks.md says how to read it).

What it relies on: `matcher serve --workers N` (without the option, one worker is run and the
report says so); GET /ready (200 when serving; a 404 is taken as a server without it); GET
/health with `index_version`, `newest_version`, `worker` and the failed swap as `swap`
({failed, reason}) or `swap_failure` ({version, reason, at}), each optional; `index_version` in
every /suggest and /similar answer. The `matcher` served is this environment's: with
PYTHONPATH=. it is this checkout's (the report names the folder and commit).

Why not locust: it is not a dependency of the project, and its statistics are per request
name; the checks here need every answer's `index_version` against the times of the
publications. One asyncio process with httpx keeps 16 connections busy at little CPU, which
matters when the clients share the server's 2 cores.

Run: .venv/bin/python scripts/load_test.py                            # 16 clients, 60 s, 2 workers
     .venv/bin/python scripts/load_test.py --reuse --seconds 15 --no-write  # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import bench
import httpx
from load_report import summarize, write_reports
from load_workspace import prepare_workspace, publish_broken, similar_texts, tender_bodies

ROOT = bench.ROOT
COMMAND = "python scripts/load_test.py"
SCHEDULE = (10 / 60, 25 / 60, 40 / 60)  # shares of --seconds: refresh, broken version, refresh
SIMILAR_TEXTS = 200


class Answer(NamedTuple):
    route: str
    sent: float  # seconds since the start of the load
    latency: float
    status: int | None
    version: str | None
    error: str | None  # None for a good answer (200 with an index_version)


class Probe(NamedTuple):
    """One GET /health: `worker`, `index_version`, `newest_version`, and the failed swap's version
    and reason from `swap` ({failed, reason}) or `swap_failure` ({version, reason, at})."""

    at: float
    worker: str | None
    version: str | None
    newest: str | None
    failed: str | None
    reason: str | None
    error: str | None
    swap_field: bool = False  # whether /health has a field for a failed swap at all


class Publication(NamedTuple):
    at: float  # when this script saw CURRENT name `version`
    version: str
    action: str  # the label of the publisher's action that made it


@dataclass
class Action:
    kind: str  # refresh, broken, rollback
    label: str
    started: float
    ended: float | None = None
    ok: bool | None = None
    log: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class Run:
    """What one load run saw; times are seconds since `start` (perf_counter)."""

    workspace: Path
    workdir: Path
    start: float = field(default_factory=time.perf_counter)
    answers: list[Answer] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    initial: str = ""
    pointer: str = ""
    action: str = "before the load"
    stopped: float | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> float:
        return time.perf_counter() - self.start

    async def until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.now()))

    def check_pointer(self) -> None:
        """Record a publication when CURRENT names another version than last seen."""
        with suppress(OSError):  # replaced atomically, so it is always there; an odd failure waits a poll
            name = (self.workspace / "index" / "CURRENT").read_text(encoding="utf-8").strip()
            if name != self.pointer:
                self.publications.append(Publication(self.now(), name, self.action))
                self.pointer = name


# --- the server ----------------------------------------------------------------------------


def serve_options(workers: int) -> tuple[list[str], int]:
    """`--workers N` when this `matcher serve` has the option (else the single worker it runs)."""
    out = subprocess.run([bench.matcher_command(), "serve", "--help"], capture_output=True, text=True, check=True)
    return (["--workers", str(workers)], workers) if "--workers" in out.stdout else ([], 1)


def served_code() -> str:
    """Where the `matcher` that `matcher serve` runs comes from (this environment's, or PYTHONPATH's),
    with its git commit."""
    import matcher

    folder = Path(matcher.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{folder} at {commit.stdout.strip() or 'an unknown commit'}"


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 600) -> str:
    """Wait for GET /ready to say 200: "200", or "absent" for a server without /ready (up on /health)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"matcher serve exited ({server.returncode}) before /ready said 200")
        with suppress(httpx.TransportError):  # a worker still starting
            status = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code
            if status in (200, 404):
                return "200" if status == 200 else "absent"
        time.sleep(0.5)
    raise RuntimeError(f"/ready did not say 200 within {timeout:.0f} s")


def warm_up(port: int, bodies: list[tuple[bytes, str]], text: str) -> None:
    """Every tender body and one /similar once: each must answer 200 before the load starts."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for body, media in bodies:
            response = http.post("/suggest", params={"top_k": 10}, content=body, headers={"Content-Type": media})
            if response.status_code != 200:
                raise RuntimeError(f"POST /suggest answered {response.status_code}: {response.text[:300]}")
        response = http.get("/similar", params={"text": text, "top_k": 10})
        if response.status_code != 200:
            raise RuntimeError(f"GET /similar answered {response.status_code}: {response.text[:300]}")


# --- the load ------------------------------------------------------------------------------


async def ask(http: httpx.AsyncClient, request: httpx.Request, route: str, run: Run) -> Answer:
    sent = time.perf_counter()
    try:
        response = await http.send(request)  # the whole body: parsing it below is not the server's time
    except httpx.TimeoutException:
        return Answer(route, sent - run.start, time.perf_counter() - sent, None, None, "timeout")
    except httpx.HTTPError as exc:  # refused, reset, closed mid-answer
        return Answer(route, sent - run.start, time.perf_counter() - sent, None, None, type(exc).__name__)
    latency, status = time.perf_counter() - sent, response.status_code
    if status != 200:
        return Answer(route, sent - run.start, latency, status, None, f"HTTP {status}")
    try:
        version = response.json().get("index_version")
    except ValueError:
        return Answer(route, sent - run.start, latency, status, None, "not JSON")
    return Answer(route, sent - run.start, latency, status, version, None if version else "no index_version")


async def client(run: Run, k: int, port: int, bodies: list[tuple[bytes, str]], texts: list[str], timeout: float):
    """One client on its own keep-alive connection: /suggest and /similar in turn until the run stops."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
        i = k
        while not run.stop.is_set():
            if i % 2 == 0:
                body, media = bodies[(i // 2 + 7 * k) % len(bodies)]
                headers = {"Content-Type": media}
                request = http.build_request("POST", "/suggest", params={"top_k": 10}, content=body, headers=headers)
                answer = await ask(http, request, "suggest", run)
            else:
                text = texts[(i // 2 + 11 * k) % len(texts)]
                request = http.build_request("GET", "/similar", params={"text": text, "top_k": 10})
                answer = await ask(http, request, "similar", run)
            run.answers.append(answer)
            if answer.status is None and answer.error != "timeout":  # refused: not a busy loop of errors
                await asyncio.sleep(0.1)
            i += 1


async def poll_health(run: Run, port: int, probes: int, interval: float = 0.2) -> None:
    """`probes` concurrent GET /health every `interval` s, each on a fresh connection, so that over
    a few polls every worker answers."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5, limits=limits) as http:

        async def probe() -> Probe:
            at = run.now()
            try:
                response = await http.get("/health")
                body = response.json() if response.status_code == 200 else {}
            except (httpx.HTTPError, ValueError) as exc:
                return Probe(at, None, None, None, None, None, type(exc).__name__)
            if response.status_code != 200:
                return Probe(at, None, None, None, None, None, f"HTTP {response.status_code}")
            swap = body.get("swap") or body.get("swap_failure") or {}
            worker = body.get("worker")
            return Probe(at, None if worker is None else str(worker), body.get("index_version"),
                         body.get("newest_version"), swap.get("failed") or swap.get("version"), swap.get("reason"),
                         None, "swap" in body or "swap_failure" in body)  # fmt: skip

        while True:  # cancelled when the load ends
            tick = time.perf_counter()
            run.probes += await asyncio.gather(*(probe() for _ in range(probes)))
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))


async def watch_current(run: Run, interval: float = 0.05) -> None:
    while True:  # cancelled when the load ends
        run.check_pointer()
        await asyncio.sleep(interval)


# --- the publisher -------------------------------------------------------------------------


async def command(run: Run, kind: str, label: str, *arguments: str, detail: dict | None = None) -> bool:
    """`matcher ARGUMENTS -w WS` as a subprocess, logged to the workdir, recorded as an action."""
    action = Action(kind, label, run.now(), detail=detail or {})
    action.log = str(run.workdir / f"{label.replace(' ', '-').replace(',', '')}.log")
    run.actions.append(action)
    run.action = label
    with open(action.log, "wb") as out:
        process = await asyncio.create_subprocess_exec(
            bench.matcher_command(), *arguments, "-w", str(run.workspace),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            code = await process.wait()
        finally:  # cancelled (Ctrl+C, a failure elsewhere): no refresh left running
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
    run.check_pointer()
    action.ended, action.ok = run.now(), code in (0, 3)  # 3: published, some rows rejected
    action.detail["exit_code"] = code
    if not action.ok:
        action.detail["output"] = Path(action.log).read_text(errors="replace")[-1500:]
    run.action = "none running"
    return bool(action.ok)


async def refresh(run: Run, label: str, source: Path) -> bool:
    """Change 1% of the firms in the source, then `matcher refresh` (the nightly job)."""
    seed = int(run.now() * 1000)  # other firms each time
    changed = await asyncio.to_thread(bench.change_descriptions, source, seed)
    return await command(run, "refresh", label, "refresh", detail={"changed": changed})


async def publisher(run: Run, source: Path, at: list[float], truncate: str) -> None:
    await run.until(at[0])
    await refresh(run, "refresh 1", source)
    await run.until(at[1])
    action = Action("broken", "broken version", run.now(), detail={"truncated": truncate})
    run.actions.append(action)
    run.action = action.label
    action.detail["version"] = (await asyncio.to_thread(publish_broken, run.workspace, truncate)).name
    run.check_pointer()
    action.ended, action.ok, run.action = run.now(), True, "none running"
    await run.until(at[2])
    if not await refresh(run, "refresh 2", source):  # over the broken version (it builds from the last complete one)
        await command(run, "rollback", "rollback", "index", "rollback")
        await refresh(run, "refresh 2, after the rollback", source)


async def load(args: argparse.Namespace, port: int, workspace: Path, source: Path, bodies, texts, probes: int) -> Run:
    run = Run(workspace, args.workdir)
    run.check_pointer()
    run.initial = run.pointer
    run.publications.clear()  # the version serving at the start is no publication
    at = [share * args.seconds for share in SCHEDULE]
    tasks = [asyncio.create_task(client(run, k, port, bodies, texts, args.timeout)) for k in range(args.clients)]
    helpers = [asyncio.create_task(poll_health(run, port, probes)), asyncio.create_task(watch_current(run))]
    publishing = asyncio.create_task(publisher(run, source, at, args.truncate))
    try:
        await asyncio.sleep(args.seconds)
        await publishing  # a slow refresh carries the schedule past --seconds
        await run.until(max((p.at for p in run.publications), default=0.0) + args.settle)
        run.stop.set()
        run.stopped = run.now()
        await asyncio.gather(*tasks)  # each finishes the request it has in flight
    finally:
        for task in [*tasks, *helpers, publishing]:
            task.cancel()
        await asyncio.gather(*tasks, *helpers, publishing, return_exceptions=True)
    return run


async def sweep(args: argparse.Namespace, port: int, workspace: Path, bodies, texts) -> list[dict]:
    """After the main run, on the same server with nothing published: `--sweep-seconds` of load at
    each number of clients in --sweep, so the report shows where the latency comes from (one
    client: the service time; more: the queue ahead of each request)."""
    from load_report import stats

    out = []
    for clients in [int(c) for c in args.sweep.split(",") if c.strip()]:
        run = Run(workspace, args.workdir)
        tasks = [asyncio.create_task(client(run, k, port, bodies, texts, args.timeout)) for k in range(clients)]
        await asyncio.sleep(args.sweep_seconds)
        run.stop.set()
        elapsed = run.now()
        await asyncio.gather(*tasks)
        out.append({"clients": clients, **stats(run.answers, elapsed),
                    **{f"{route}_p50_ms": stats([a for a in run.answers if a.route == route], elapsed)["p50_ms"]
                       for route in ("suggest", "similar")}})  # fmt: skip
        bench.log(f"sweep: {out[-1]}")
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60, help="seconds of load (longer if a refresh is late)")
    parser.add_argument("--workers", type=int, default=2, help="`matcher serve --workers N`")
    parser.add_argument("--rows", type=int, default=10_000, help="synthetic firms in the index")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/matcher-load"))
    parser.add_argument("--reuse", action="store_true", help="use the workdir's workspace as it is")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/matcher-bench/embeddings"),
        help="an embedding cache of all-MiniLM-L6-v2 (scripts/embed_synthetic.py) to take real vectors from",
    )  # fmt: skip
    parser.add_argument("--truncate", default="vectors.npy", help="the file of the broken version cut to half")
    parser.add_argument("--tenders", type=int, default=40, help="synthetic tenders besides the sample's")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as an error")
    parser.add_argument("--settle", type=float, default=10, help="seconds of load after the last publication")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the report's doc")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no doc")
    parser.add_argument("--sweep", default="1,2,4,8,16", help="clients of the quiet runs after the main one ('' none)")
    parser.add_argument("--sweep-seconds", type=float, default=20, help="seconds of each quiet run")
    args = parser.parse_args(argv)
    size = prepare_workspace(args.rows, args.workdir, args.cache, args.reuse)
    source = Path(size["source"])
    bodies, texts = tender_bodies(source, args.tenders), similar_texts(source, SIMILAR_TEXTS)
    options, workers = serve_options(args.workers)
    before = os.getloadavg()[0]  # the cores are shared: what else ran is part of the figures
    bench.log(f"serving {size['workspace']} with {workers} worker(s); {args.clients} clients for {args.seconds:.0f} s")
    with bench.running_server(size["workspace"], args.workdir / "serve.log", *options) as (server, port):
        ready = wait_ready(port, server)
        warm_up(port, bodies, texts[0])
        run = asyncio.run(load(args, port, Path(size["workspace"]), source, bodies, texts, probes=2 * workers))
        swept = asyncio.run(sweep(args, port, Path(size["workspace"]), bodies, texts))
    (args.workdir / "load-raw.json").write_text(json.dumps({
        "answers": run.answers, "probes": run.probes, "publications": run.publications,
        "actions": [a.__dict__ for a in run.actions],
    }))  # fmt: skip
    config = {"clients": args.clients, "seconds": args.seconds, "workers": workers, "workers_asked": args.workers,
              "rows": args.rows, "truncate": args.truncate, "timeout_s": args.timeout, "settle_s": args.settle,
              "ready": ready, "tenders": len(bodies), "similar_texts": len(texts),
              "sweep_seconds": args.sweep_seconds}  # fmt: skip
    summary = summarize(run, config, size) | {"sweep": swept}
    summary |= {"command": f"{COMMAND} {' '.join(argv)}".strip(), "machine": bench.machine(), "code": served_code(),
                "load_average": {"before": before, "after": os.getloadavg()[0]},
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}  # fmt: skip
    write_reports(summary, None if args.no_write else args.out)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:  # the server and any refresh were stopped on the way out
        sys.exit("interrupted: the server and the publisher's subprocesses are stopped; no report written")
