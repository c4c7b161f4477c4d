"""The figures of a load run (scripts/load_test.py) and its report: a section of docs/benchmarks.md
between `<!-- load-test:begin -->` and `<!-- load-test:end -->`, and docs/load-test.json."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from doc_sections import put_section
from load_workspace import version_problem

if TYPE_CHECKING:
    from load_test import Answer, Probe, Run

SECTION = "load-test"
P95_TARGET_MS = 300
SWAP_TARGET_S = 5.0
ROUTES = {"suggest": "POST /suggest", "similar": "GET /similar"}
HOW_TO_READ = """How to read: latencies are of good answers (200 with an `index_version`), from sending to the
last byte, measured by the client process on the same cores as the server and the refreshes;
errors are other statuses, timeouts ({timeout:.0f} s) and failed connections. A publication's time
is when the script saw CURRENT change (polled every 50 ms); "every worker" comes from GET /health
polled every 0.2 s on fresh connections, which the kernel hands to any worker, so a worker's
first sighting can lag its swap by a poll or two. Phases go by send time: "refresh running"
while a refresh (or rollback) subprocess ran, "after a publication" until every worker served it
or reported it failed ({swap:.0f} s when none did), "quiet" the rest. With closed-loop clients a
request waits for the ones ahead of it: {clients} clients at the measured answers/s wait about
{clients} ÷ that rate seconds each (Little's law), so the latency follows the throughput of the cores."""


def stats(answers: list[Answer], seconds: float) -> dict[str, Any]:
    """Counts, and the latency of the good answers (200 with an index_version) in ms."""
    good = np.array([a.latency for a in answers if a.error is None]) * 1000
    figures: dict[str, Any] = {"requests": len(answers), "errors": len(answers) - len(good),
                               "answers_per_s": len(good) / seconds if seconds else None}  # fmt: skip
    for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99), ("max_ms", 100)):
        figures[name] = float(np.percentile(good, q)) if len(good) else None
    figures["mean_ms"] = float(good.mean()) if len(good) else None  # Little's law speaks of the mean
    return figures


def _first(probes: list[Probe], at: float, match) -> tuple[float | None, float | None, int, int]:
    """After `at`: when a probe first matched, when every worker seen had matched (None if one never
    did), how many workers matched and how many were seen."""
    after = [p for p in probes if p.at >= at and p.error is None]
    workers = {p.worker for p in after}
    firsts = {}
    for p in after:
        if match(p) and p.worker not in firsts:
            firsts[p.worker] = p.at - at
    first = min(firsts.values(), default=None)
    every = max(firsts.values()) if firsts and len(firsts) == len(workers) else None
    return first, every, len(firsts), len(workers)


def publication_figures(run: Run, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """For each publication: how soon answers and workers carried it, or (a broken one) reported it failed."""
    out = []
    has_worker = bool(_workers(run) - {None})
    for p in run.publications:
        kind = kinds.get(p.action, "other")
        arrivals = sorted(a.sent + a.latency for a in run.answers if a.version == p.version)
        later = [t for t in arrivals if t >= p.at]
        serving = _first(run.probes, p.at, lambda s, v=p.version: s.version == v)
        noticed = _first(run.probes, p.at, lambda s, v=p.version: s.newest == v)
        failed = _first(run.probes, p.at, lambda s, v=p.version: s.failed == v)
        reasons = sorted({s.reason for s in run.probes if s.failed == p.version and s.reason})
        figure = {
            "at_s": p.at, "version": p.version, "action": p.action, "kind": kind,
            "already_served": len(arrivals) > len(later),  # a rollback onto the version still serving
            "answers": len(arrivals), "first_answer_s": later[0] - p.at if later else None,
            "every_worker_s": serving[1], "workers_serving": serving[2], "workers_seen": serving[3],
            "noticed_s": noticed[0], "failure_reported_s": failed[0], "failure_every_worker_s": failed[1],
            "failure_reasons": reasons,
        }  # fmt: skip
        # with no worker named in /health (a server before the hot swap), the answers are the evidence
        figure["served_s"] = figure["every_worker_s"] if has_worker else figure["first_answer_s"]
        out.append(figure)
    return out


def _workers(run: Run) -> set[str | None]:
    return {p.worker for p in run.probes if p.error is None}


def phase_of(sent: float, run: Run, publications: list[dict[str, Any]]) -> str:
    """ "refresh running" while a refresh or rollback subprocess ran, "after a publication" until every
    worker served it or reported it failed (SWAP_TARGET_S when none did), else "quiet"."""
    for a in run.actions:
        if a.kind in ("refresh", "rollback") and a.started <= sent <= (a.ended if a.ended is not None else sent):
            return "refresh running"
    for p in publications:
        settled = p["served_s"] if p["kind"] != "broken" else p["failure_every_worker_s"]
        if p["at_s"] <= sent <= p["at_s"] + (settled if settled is not None else SWAP_TARGET_S):
            return "after a publication"
    return "quiet"


def kept_versions(workspace: Path) -> list[dict[str, Any]]:
    """The versions left in the workspace after the run, each checked as the server checks it."""
    from matcher import Workspace

    ws = Workspace(workspace)
    current = ws.current_version().name
    kept = []
    for v in ws.versions():
        problem = version_problem(ws, v)
        kept.append({"version": v.name, "current": v.name == current, "complete": problem is None, "problem": problem})
    return kept


def summarize(run: Run, config: dict[str, Any], size: dict[str, Any]) -> dict[str, Any]:
    seconds = run.stopped or run.now()
    kinds = {a.label: a.kind for a in run.actions}
    publications = publication_figures(run, kinds)
    complete = {run.initial} | {p["version"] for p in publications if p["kind"] in ("refresh", "rollback")}
    broken = {p["version"] for p in publications if p["kind"] == "broken"}
    versions = Counter(a.version for a in run.answers if a.error is None)
    phases: dict[str, list[Answer]] = {"quiet": [], "refresh running": [], "after a publication": []}
    for a in run.answers:
        phases[phase_of(a.sent, run, publications)].append(a)
    lasted = Counter(phase_of(t, run, publications) for t in np.arange(0, seconds, 0.05))  # each phase's seconds
    return {
        "config": config,
        "workspace": {k: size.get(k) for k in ("rows", "workspace", "model", "index", "from_shared_cache", "embedded")},
        "load_s": seconds,
        "latency": {"all": stats(run.answers, seconds)}
        | {route: stats([a for a in run.answers if a.route == route], seconds) for route in ROUTES},
        "phases": {
            name: stats(answers, 0.05 * lasted[name]) | {"seconds": 0.05 * lasted[name]}
            for name, answers in phases.items()
        },
        "errors": dict(Counter(a.error for a in run.answers if a.error).most_common()),
        "publications": publications,
        "actions": [a.__dict__ for a in run.actions],
        "versions": {
            "initial": run.initial,
            "complete": sorted(complete),
            "broken": sorted(broken),
            "answers_by_version": dict(sorted(versions.items())),
            "from_broken": sum(n for v, n in versions.items() if v in broken),
            "from_unpublished": sum(n for v, n in versions.items() if v not in complete | broken),
            "workers_serving_broken": len({p.worker for p in run.probes if p.version in broken}),
            "kept_after": kept_versions(run.workspace),
        },  # fmt: skip
        "health": {
            "probes": len(run.probes),
            "errors": sum(1 for p in run.probes if p.error),
            "workers": sorted(str(w) for w in _workers(run)),
            "has_worker": bool(_workers(run) - {None}),
            "has_swap_field": any(p.swap_field for p in run.probes),
        },  # fmt: skip
    }


# --- the report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _s(value: float | None, never: str = "never") -> str:
    return never if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def latency_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["| | requests | errors | answers/s | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    groups = [("all", summary["latency"]["all"])]
    groups += [(ROUTES[r], summary["latency"][r]) for r in ROUTES]
    groups += [(f"{name} ({f['seconds']:.1f} s)", f) for name, f in summary["phases"].items()]
    for name, f in groups:
        rate = "–" if f["answers_per_s"] is None else f"{f['answers_per_s']:.1f}"
        lines.append(f"| {name} | {f['requests']:,} | {f['errors']:,} | {rate} | {_ms(f['p50_ms'])} | "
                     f"{_ms(f['p95_ms'])} | {_ms(f['p99_ms'])} | {_ms(f['max_ms'])} |")  # fmt: skip
    errors = summary["errors"]
    kinds = ", ".join(f"{kind} × {n}" for kind, n in errors.items())
    return [*lines, "", f"Errors by kind: {kinds}." if errors else "Errors: none.", ""]


def publication_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["| at s | by | version | answers from it | first answer from it | every worker served it "
             "| /health named it newest | /health reported it failed |",
             "|---:|---|---|---:|---|---|---|---|"]  # fmt: skip
    for p in summary["publications"]:
        workers = f" ({p['workers_serving']} of {p['workers_seen']} workers)" if summary["health"]["has_worker"] else ""
        first = "already serving" if p["already_served"] else _s(p["first_answer_s"])
        failed = "–" if p["kind"] != "broken" else _s(p["failure_reported_s"], "no")
        if p["kind"] == "broken" and p["failure_every_worker_s"] is not None:
            failed += f", every worker {_s(p['failure_every_worker_s'])}"
        served = _s(p["every_worker_s"]) + workers
        if p["kind"] == "broken":  # never served is right for it
            first = "never, as it must be" if p["first_answer_s"] is None else f"**{first}**"
            served = "never, as it must be" if not p["workers_serving"] else f"**{served}**"
        lines.append(f"| {p['at_s']:.1f} | {p['action']} | `{p['version']}` | {p['answers']:,} | {first} | "
                     f"{served} | {_s(p['noticed_s'], 'no')} | {failed} |")  # fmt: skip
    steps = []
    for a in summary["actions"]:
        ran = f"{a['started']:.1f}-{a['ended']:.1f} s" if a["ended"] is not None else f"from {a['started']:.1f} s"
        what = f", {a['detail']['changed']:,} firms changed" if "changed" in a["detail"] else ""
        steps.append(f"{a['label']} {ran}{what}{'' if a['ok'] else ' (failed)'}")
    initial = summary["versions"]["initial"]
    return [*lines, "", f"Serving at the start: `{initial}`. The publisher: {'; '.join(steps)}.", ""]


def target_lines(summary: dict[str, Any]) -> list[str]:
    f, v, config = summary["latency"]["all"], summary["versions"], summary["config"]
    bad = v["from_broken"] + v["from_unpublished"]
    swaps = [p for p in summary["publications"] if p["kind"] in ("refresh", "rollback") and not p["already_served"]]
    swap_text = "; ".join(f"{p['action']} (`{p['version']}`): {_s(p['served_s'])}" for p in swaps) or "no publication"
    swapped = bool(swaps) and all(p["served_s"] is not None and p["served_s"] <= SWAP_TARGET_S for p in swaps)
    p95 = f["p95_ms"]
    met = p95 is not None and p95 <= P95_TARGET_MS
    return [
        f"- 0 errors: {f['errors']:,} of {f['requests']:,} requests — {verdict(f['errors'] == 0)}.",
        f"- 0 answers from a half-published or broken version: {bad:,} of {f['requests'] - f['errors']:,} answers "
        f"({v['from_broken']:,} from the broken version, {v['from_unpublished']:,} from a version never published "
        f"complete); {v['workers_serving_broken']} worker(s) said in /health they served the broken one — "
        f"{verdict(bad == 0 and v['workers_serving_broken'] == 0)}.",
        f"- A new version served within {SWAP_TARGET_S:.0f} s of its publication (by every worker, from /health; "
        f"by the first answer when /health names no worker): {swap_text} — {verdict(swapped)}.",
        f"- p95 ≤ {P95_TARGET_MS} ms at {config['clients']} clients on this machine with {config['rows']:,} firms: "
        f"p50 {_ms(f['p50_ms'])} ms, p95 {_ms(p95)} ms, p99 {_ms(f['p99_ms'])} ms — {verdict(met)}"
        + ("." if met or p95 is None else f" by {p95 - P95_TARGET_MS:.0f} ms ({p95 / P95_TARGET_MS:.1f}x the target).")
        + ("" if met else _queueing(f, config["clients"])),
        "",
    ]


def _queueing(f: dict[str, Any], clients: int) -> str:
    """What limits the latency, from this run's own figures: closed-loop clients queue (Little's law)."""
    rate, mean = f["answers_per_s"], f.get("mean_ms")
    if not rate or mean is None:
        return ""
    needed = clients / (P95_TARGET_MS / 1000)
    return (
        f" What limits it: this run's answers, {rate:.1f} a second over these cores; {clients} closed-loop clients "
        f"then spend {clients} ÷ {rate:.1f} = {clients / rate * 1000:.0f} ms a request on average (Little's law; "
        f"the measured mean is {mean:.0f} ms), most of it waiting behind the other clients' requests. A p95 of "
        f"{P95_TARGET_MS} ms needs a mean below it, so at least {clients} ÷ {P95_TARGET_MS / 1000:g} s = "
        f"{needed:.0f} answers a second: {needed / rate:.1f}x this run's."
    )


def finding_lines(summary: dict[str, Any]) -> list[str]:
    actions = {a["label"]: a for a in summary["actions"]}
    lines = []
    second = actions.get("refresh 2")
    if second and second["ok"]:
        lines.append("- `matcher refresh` with CURRENT naming the broken version succeeded.")
    elif second:
        retry = actions.get("refresh 2, after the rollback")
        lines.append(f"- **`matcher refresh` failed with CURRENT naming the broken version** (exit code "
                     f"{second['detail'].get('exit_code')}): a library bug. Worked around by `matcher index rollback`, "
                     f"then the refresh again ({'succeeded' if retry and retry['ok'] else 'failed'}).")  # fmt: skip
    kept = summary["versions"]["kept_after"]
    listed = ", ".join(f"`{k['version']}`{' (current)' if k['current'] else ''}"
                       f"{'' if k['complete'] else ' (broken)'}" for k in kept)  # fmt: skip
    older = [k for k in kept if not k["current"]]
    if kept:
        lines.append(f"- Versions kept after the run: {listed}.")
    if older and not older[-1]["complete"]:
        lines[-1] += (" A rollback now would land on the broken version (and be refused): the refresh's pruning "
                      "kept it and deleted the last complete one.")  # fmt: skip
    for p in summary["publications"]:
        if p["failure_reasons"]:
            reasons = "; ".join(p["failure_reasons"])
            lines.append(f'- /health said why `{p["version"]}` was not served: "{reasons}".')
    health = summary["health"]
    if not health["has_swap_field"]:
        lines.append(
            "- /health has no field for a failed swap (`swap` or `swap_failure`): a server before the hot swap."
        )
    if not health["has_worker"]:
        lines.append("- /health names no `worker`: the delays are from the answers alone.")
    if summary["config"]["ready"] == "absent":
        lines.append("- The server has no /ready (404); it was taken as ready when /health answered.")
    asked = summary["config"]["workers_asked"]
    if summary["config"]["workers"] != asked:
        lines.append(f"- `matcher serve` has no --workers option: 1 worker served, not {asked}.")
    return [*lines, ""]


def sweep_lines(summary: dict[str, Any]) -> list[str]:
    """The quiet runs by number of clients, and what they say about the p95 target."""
    swept = summary.get("sweep") or []
    if not swept:
        return []
    lines = [
        "### Without publications: latency by number of clients",
        "",
        "The same server after the main run, nothing published, each row a run of its own "
        f"({summary['config'].get('sweep_seconds', 20):.0f} s):",
        "",
        "| clients | requests | errors | answers/s | p50 ms | p95 ms | p99 ms | suggest p50 ms | similar p50 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in swept:
        lines.append(
            f"| {row['clients']} | {row['requests']} | {row['errors']} | {row['answers_per_s']:.1f} | "
            f"{_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | "
            f"{_ms(row['suggest_p50_ms'])} | {_ms(row['similar_p50_ms'])} |"
        )
    best = max(swept, key=lambda r: r["answers_per_s"] or 0)
    under = [r["clients"] for r in swept if r["p95_ms"] is not None and r["p95_ms"] <= P95_TARGET_MS]
    main = summary["latency"]["all"]["answers_per_s"]
    # the peak of these short runs only: the main run's rate (the targets above) is its own figure
    lines += [
        "",
        f"These runs answered at most {best['answers_per_s']:.1f} requests a second (at {best['clients']} "
        f"client(s); the main run above, {main or 0:.1f} a second with {summary['config']['clients']}); p95 ≤ "
        f"{P95_TARGET_MS} ms held up to "
        + (f"{max(under)} client(s)." if under else "no number of clients measured.")
        + " Beyond the clients the cores can serve at once, each added client adds its request's time to "
        "every other's wait.",
        "",
    ]
    return lines


def report(summary: dict[str, Any]) -> str:
    config, ws = summary["config"], summary["workspace"]
    index = (ws.get("index") or {}).get("type", "?")
    served = f"`matcher serve --workers {config['workers']}`" if config["workers"] == config["workers_asked"] else (
        "`matcher serve` (1 worker: it has no --workers option)")  # fmt: skip
    lines = [
        f"## Load test: {config['clients']} clients while a refresh publishes twice and a broken version once",
        "",
        f"Measured by `{summary['command']}` on {summary['machine']}, {summary['date']}: {served} over "
        f"{ws['rows']:,} synthetic firms ({ws.get('model')}, {index} index), {config['clients']} clients alternating "
        f"POST /suggest ({config['tenders']} tenders: synthetic ones of 2-6 lots and the sample's, top_k 10) and "
        f"GET /similar?text= ({config['similar_texts']} firm descriptions, top_k 10) for {summary['load_s']:.0f} s "
        f"({config['seconds']:.0f} asked, and until {config['settle_s']:.0f} s after the last publication). "
        f"The broken version is the current one copied with `{config['truncate']}` cut to half. Load average "
        f"{summary['load_average']['before']:.1f} before the run, {summary['load_average']['after']:.1f} after "
        f"(other jobs shared the cores). Served code: {summary['code']}.",
        "",
        *latency_lines(summary),
        "### Publications",
        "",
        *publication_lines(summary),
        "### Targets",
        "",
        *target_lines(summary),
        *sweep_lines(summary),
        "### What else the run showed",
        "",
        *finding_lines(summary),
        HOW_TO_READ.format(timeout=config["timeout_s"], swap=SWAP_TARGET_S, clients=config["clients"]),
        "",
        "Raw figures: `docs/load-test.json`.",
    ]
    return "\n".join(lines)


def write_reports(summary: dict[str, Any], out: Path | None) -> None:
    """Print the report; with `out`, write it as the section of that doc and the JSON beside it."""
    text = report(summary)
    print(text, flush=True)
    if out is None:
        return
    put_section(out, SECTION, text)
    (out.parent / "load-test.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"wrote {out} (section {SECTION}) and {out.parent / 'load-test.json'}", flush=True)
