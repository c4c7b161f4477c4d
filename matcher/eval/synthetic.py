"""Synthetic participant tables of any size, for benchmarks and load tests.

Every row has the columns of ``data/sample/participants.csv`` and passes the reader's
validation. A firm has a kind (road builder, design institute, training centre, ...) that
fixes the CPV groups its codes come from, so its 2-6 codes cluster in one or two groups;
its description is composed from templates, the kind's phrases and the labels of its own
codes, in English or (about one firm in five) in Russian, so that text and codes agree.

Rows are made in blocks of :data:`BLOCK` rows, each from its own random stream
(``numpy.random.default_rng([seed, block])``), so the output depends only on the seed and
the row number: the first 10,000 rows of a million-row table are the 10,000-row table.

Example:
    >>> from matcher.eval.synthetic import write_firms
    >>> write_firms("firms-100k.parquet", 100_000, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import InputError
from matcher.eval.synthetic_phrases import _BLACKLIST, _REGIONS, KINDS, Kind
from matcher.eval.synthetic_text import Names, describe, firm_name
from matcher.store.files import atomic_path

if TYPE_CHECKING:
    import polars as pl

BLOCK = 10_000  # rows per random stream; changing it changes every generated table
_INN_SPACE = 98 * 100_000  # tax office 01..98 x record number 00000..99999
MAX_ROWS = _INN_SPACE  # ids stay unique up to here
COLUMNS = ("id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
           "certifications", "projects", "clusters", "language")  # fmt: skip
RUSSIAN_SHARE = 0.2


def _choice(rng: np.random.Generator, n: int, weights: Any) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


@dataclass(frozen=True)
class _Pools:
    """Code pools of every kind, prepared once from the taxonomy."""

    primary: tuple[tuple[str, ...], ...]
    neighbours: tuple[list[tuple[int, int]], ...]  # per primary pool: [lo, hi) of codes sharing 5 digits
    secondary: tuple[tuple[str, ...], ...]
    okved: tuple[tuple[str, ...], ...]  # OKVED2 codes that map only into the kind's primary pool
    okved_cpv: dict[str, tuple[str, ...]]  # what the reader will turn each of them into
    labels: dict[str, tuple[str, str]]  # canonical code -> (English, Russian) label, lower-cased


def _lower(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    from matcher.taxonomy import load_taxonomy

    tax = load_taxonomy()

    def usable(digits: str) -> bool:
        ru = tax.cpv_ru.get(digits, "").strip()
        return bool(ru) and ru[:8] != digits and not _BLACKLIST.search(tax.cpv_en[digits])

    def pool(prefixes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({tax.cpv_canonical[d] for d in tax.cpv_canonical
                             if d.startswith(prefixes) and usable(d)}))  # fmt: skip

    primary = tuple(pool(k.primary) for k in KINDS)
    secondary = tuple(pool(k.secondary) for k in KINDS)
    neighbours = []
    for codes in primary:
        if not codes:
            raise InputError("a synthetic firm kind has no usable CPV codes; check data/taxonomy")
        heads = np.array([c[:5] for c in codes])
        lo = np.searchsorted(heads, heads, side="left")
        hi = np.searchsorted(heads, heads, side="right")
        neighbours.append([(int(x), int(y)) for x, y in zip(lo, hi)])
    okved = tuple(
        tuple(sorted(o for o, mapped in tax.okved_to_cpv.items() if set(mapped) <= set(codes) and o in tax.okved))
        for codes in primary
    )
    labels = {c: (_lower(tax.label(c, "en")), _lower(tax.label(c, "ru")))
              for codes in primary + secondary for c in codes}  # fmt: skip
    okved_cpv = {o: tax.okved_to_cpv[o] for codes in okved for o in codes}
    return _Pools(primary, tuple(neighbours), secondary, okved, okved_cpv, labels)


def _inn_bodies(rows: np.ndarray, seed: int) -> np.ndarray:
    """Seven digits per row (tax office 01-98, record number), distinct for every row: an affine bijection."""
    step = 7_919_113  # odd, not divisible by 5 or 7, so coprime with 98 * 10**5
    offset = (seed * 2_654_435_761 + 3_141_592) % _INN_SPACE
    x = (rows.astype(np.int64) * step + offset) % _INN_SPACE
    return (x // 100_000 + 1) * 100_000 + x % 100_000


def _inns(prefixes: np.ndarray, bodies: np.ndarray) -> list[str]:
    """Legal-entity INNs (10 digits) with their check digit."""
    digits = np.empty((len(bodies), 9), dtype=np.int64)
    digits[:, 0] = prefixes // 10
    digits[:, 1] = prefixes % 10
    rest = bodies.copy()
    for i in range(8, 1, -1):
        digits[:, i] = rest % 10
        rest //= 10
    weights = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])
    check = (digits @ weights) % 11 % 10
    numbers = (prefixes.astype(np.int64) * 10**7 + bodies) * 10 + check
    return [f"RU-INN-{n:010d}" for n in numbers.tolist()]


@dataclass(frozen=True)
class _Draws:
    """One block's random draws, per row, as plain Python lists: indexing numpy arrays one scalar at
    a time is several times slower."""

    kinds: list[int]
    russian: list[bool]
    regions: list[int]
    headcounts: list[int]
    n_codes: list[int]
    secondary: list[bool]
    okved: list[bool]
    code_draws: list[list[float]]
    anchors: list[float]
    founded: list[int]
    n_projects: list[int]
    picks: list[list[int]]  # phrase and template choices
    probs: list[list[float]]
    inns: list[str]


def _draws(index: int, seed: int) -> _Draws:
    """The draws for rows ``index * BLOCK`` .. ``+ BLOCK``, from the block's own random stream.

    A whole block is drawn even when fewer rows are wanted, so that a short table is a prefix of a
    long one; the order of the draws is part of the output (changing it changes every table).
    """
    rng = np.random.default_rng([seed, index])
    n = BLOCK
    kind = _choice(rng, n, [k.weight for k in KINDS])
    russian = rng.random(n) < RUSSIAN_SHARE
    region = _choice(rng, n, [r[2] for r in _REGIONS])
    # headcount: log-normal around the kind's median, so most firms are small (SMEs)
    medians = np.array([k.size for k in KINDS], dtype=float)[kind]
    headcount = np.maximum(1, np.round(np.exp(np.log(medians) + rng.normal(0, 1.15, n)))).astype(np.int64)
    headcount = np.minimum(headcount, 25_000)
    n_codes = _choice(rng, n, [0.2, 0.3, 0.25, 0.15, 0.1]) + 2
    has_secondary = rng.random(n) < 0.3
    has_okved = rng.random(n) < 0.15
    u = rng.random((n, 8))  # code draws
    anchors = rng.random(n)
    founded = np.clip(2025 - np.round(rng.gamma(2.0, 6.0, n)).astype(int), 1992, 2024)
    n_projects = np.minimum(rng.poisson(0.4 + 0.35 * np.log10(headcount)), 4)
    pick = rng.integers(0, 1 << 30, size=(n, 34))
    pvals = rng.random((n, 10))
    prefixes = np.array([int(_REGIONS[r][1]) for r in region.tolist()])
    inn = _inns(prefixes, _inn_bodies(np.arange(n) + index * BLOCK, seed))
    return _Draws(
        kind.tolist(), russian.tolist(), region.tolist(), headcount.tolist(), n_codes.tolist(),
        has_secondary.tolist(), has_okved.tolist(), u.tolist(), anchors.tolist(), founded.tolist(),
        n_projects.tolist(), pick.tolist(), pvals.tolist(), inn,
    )  # fmt: skip


def _block(index: int, size: int, seed: int, names: Names) -> dict[str, list[Any]]:
    """Columns of rows ``index * BLOCK`` .. ``+ size`` (one random stream per block)."""
    pools = _pools()
    d = _draws(index, seed)
    out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for i in range(size):
        k, ru, p, pv, hc = KINDS[d.kinds[i]], d.russian[i], d.picks[i], d.probs[i], d.headcounts[i]
        reg = _REGIONS[d.regions[i]]
        codes, labels = _codes(pools, d, i)
        year = d.founded[i]
        name = firm_name(k, p, pv, ru, names)
        cluster = k.cluster if (reg[0] in ("RU-SPE", "RU-LEN") and pv[6] < 0.25) else ""
        out["id"].append(d.inns[i])
        out["name"].append(name)
        out["kind"].append(k.name)
        out["description"].append(describe(k, p, labels, reg, year, hc, ru))
        out["codes"].append(";".join(codes))
        out["regions"].append(";".join(_regions(reg, hc, p, pv)))
        out["headcount"].append(hc)
        out["sme"].append(hc < 250)
        out["certifications"].append(";".join(_certifications(k, hc, p, pv)))
        out["projects"].append(json.dumps(_projects(k, reg, year, hc, p, d.n_projects[i]), ensure_ascii=False))
        out["clusters"].append(cluster)
        out["language"].append("ru" if ru else "en")
    return out


def _codes(pools: _Pools, d: _Draws, i: int) -> tuple[list[str], list[str]]:
    """Row i's codes (an OKVED2 code first, if any) and the labels of its first three CPV codes.

    An anchor code, then mostly its neighbours (same 5 digits), so that they cluster; an OKVED2
    code counts as the CPV codes the reader maps it to.
    """
    ki, p, ru = d.kinds[i], d.picks[i], d.russian[i]
    prim = pools.primary[ki]
    a = int(d.anchors[i] * len(prim))
    lo, hi = pools.neighbours[ki][a]
    with_sec = d.secondary[i] and bool(pools.secondary[ki])
    with_okved = d.okved[i] and bool(pools.okved[ki])
    okved = pools.okved[ki][p[1] % len(pools.okved[ki])] if with_okved else ""
    taken = list(pools.okved_cpv[okved]) if okved else []
    n_prim = max(1, d.n_codes[i] - with_sec - len(taken))
    codes = [prim[a]] if prim[a] not in taken else []
    u = d.code_draws[i]
    for attempt in range(4 * n_prim):
        if len(codes) >= n_prim:
            break
        uj = u[attempt % 8] if attempt < 8 else (u[attempt % 8] * 7.31 + attempt * 0.137) % 1.0
        if uj < 0.6 and hi - lo > 1:
            idx = lo + int(uj / 0.6 * (hi - lo))
        else:
            idx = int(uj * len(prim))
        code = prim[min(idx, len(prim) - 1)]
        if code not in codes and code not in taken:
            codes.append(code)
    if not codes:  # every draw hit a code the OKVED2 code already brings
        codes.append(prim[a])
    if with_sec:
        sec = pools.secondary[ki]
        codes.append(sec[p[0] % len(sec)])
    labels = list(dict.fromkeys(pools.labels[c][1 if ru else 0] for c in codes[:3]))
    if okved:
        codes.insert(0, okved)
    return codes, labels


def _regions(reg: tuple, hc: int, p: list[int], pv: list[float]) -> list[str]:
    """Home first; SPE and LEN firms usually work in both; bigger firms travel."""
    regions = [reg[0]]
    extra = min(int(pv[0] * (1 + math.log10(hc))), 4)
    if reg[0] in ("RU-SPE", "RU-LEN") and pv[1] < 0.7:
        regions.append("RU-LEN" if reg[0] == "RU-SPE" else "RU-SPE")
    for j in range(extra):
        other = _REGIONS[p[2 + j] % len(_REGIONS)][0]
        if other not in regions:
            regions.append(other)
    if hc >= 1000 and pv[2] < 0.3:
        regions.append("RU")
    return regions


def _certifications(k: Kind, hc: int, p: list[int], pv: list[float]) -> list[str]:
    """The kind's licences, ISO more likely the bigger the firm."""
    scale = min(1.0, 0.5 + 0.2 * math.log10(hc))
    certs = [c for j, (c, prob) in enumerate(k.certs)
             if ((p[26 + j % 8] % 1000) / 1000) < prob * (scale if c.startswith("ISO") else 1.0)]  # fmt: skip
    if hc >= 500 and pv[3] < 0.08:
        certs.append("State secret licence")
    return certs


def _projects(k: Kind, reg: tuple, year: int, hc: int, p: list[int], n: int) -> list[dict[str, Any]]:
    projects = []
    towns = reg[6]
    for j in range(n):
        q = p[22 + j]
        t1, t2 = towns[q % len(towns)], towns[(q >> 4) % len(towns)]
        if t2 == t1:
            t2 = _REGIONS[(q >> 8) % 2][6][0] if t1 != "St. Petersburg" else "Gatchina"
        km = (q >> 12) % 80
        title = k.projects[(q >> 3) % len(k.projects)].format(
            town=t1, town2=t2, a=km, b=km + 3 + (q >> 20) % 25, region=reg[3]
        )
        value = round(math.exp(13.5 + 0.9 * math.log(hc) + ((q >> 5) % 100) / 50 - 1), -5)
        projects.append({
            "title": title, "year": max(year, 2014 + (q >> 7) % 11), "value": value,
            "role": k.roles[(q >> 9) % len(k.roles)],
            "buyer": k.buyers[(q >> 11) % len(k.buyers)].format(region=reg[3], town=t1),
        })  # fmt: skip
    return projects


def _schema() -> dict[str, Any]:
    import polars as pl

    return {c: pl.String for c in COLUMNS} | {"headcount": pl.Int64, "sme": pl.Boolean}


def generate_firms(rows: int, seed: int = 0, chunk: int = 50_000) -> Iterator[pl.DataFrame]:
    """Synthetic participants in chunks of ``chunk`` rows (the last may be shorter).

    Args:
        rows: how many firms (at most :data:`MAX_ROWS`, where the ids would run out).
        seed: the same seed and row count give the same rows.
        chunk: rows per yielded DataFrame; it does not change the rows.

    Example:
        >>> frame = next(generate_firms(1_000, seed=1))
        >>> frame.columns[:3], frame.height
        (['id', 'name', 'kind'], 1000)
    """
    import polars as pl

    if not 0 <= rows <= MAX_ROWS:
        raise InputError(f"rows must be between 0 and {MAX_ROWS:,}, got {rows:,}")
    if chunk < 1:
        raise InputError(f"chunk must be at least 1, got {chunk}")
    schema = _schema()
    names = Names()
    pending: list[pl.DataFrame] = []
    have = 0
    for b in range(-(-rows // BLOCK)):
        size = min(BLOCK, rows - b * BLOCK)
        pending.append(pl.DataFrame(_block(b, size, seed, names), schema=schema))
        have += size
        while have >= chunk or (have and b == -(-rows // BLOCK) - 1):
            frame = pl.concat(pending, rechunk=True) if len(pending) > 1 else pending[0]
            yield frame.head(chunk)
            rest = frame.slice(chunk)
            pending, have = ([rest], rest.height) if rest.height else ([], 0)


def write_firms(path: str | os.PathLike[str], rows: int, seed: int = 0, chunk: int = 50_000) -> Path:
    """Write ``rows`` synthetic participants to a Parquet (or CSV) file, chunk by chunk.

    The file is written to a temporary name and renamed when complete. Parquet row groups
    hold ``chunk`` rows; the same seed, rows and chunk give the same bytes.

    Example:
        >>> write_firms("/tmp/firms-10k.parquet", 10_000)  # doctest: +SKIP
        PosixPath('/tmp/firms-10k.parquet')
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"{out}: write .parquet or .csv, not '{out.suffix}'")
    with atomic_path(out) as tmp:
        _write_table(tmp, suffix, rows, seed, chunk)
    return out


def _write_table(tmp: Path, suffix: str, rows: int, seed: int, chunk: int) -> None:
    if suffix == ".csv":
        with tmp.open("wb") as f:
            for i, frame in enumerate(generate_firms(rows, seed, chunk)):
                frame.write_csv(f, include_header=i == 0)
            if rows == 0:
                f.write((",".join(COLUMNS) + "\n").encode())
        return
    from polars.io.plugins import register_io_source

    def source(with_columns: Any, predicate: Any, n_rows: Any, batch_size: Any) -> Iterator[pl.DataFrame]:
        for frame in generate_firms(rows, seed, chunk):
            yield frame.select(with_columns) if with_columns else frame

    # polars has no incremental Parquet writer; a streaming sink over a Python source
    # writes one file while only a chunk or two is held in memory
    register_io_source(source, schema=_schema()).sink_parquet(tmp, row_group_size=chunk)
