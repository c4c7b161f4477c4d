"""matcher: partner and subcontractor suggestions for industrial clusters.

Embeds members' capability profiles, indexes them with FAISS, and ranks members for the
lots of a tender with the reasons for each score.

Example:
    >>> from matcher import Matcher, Workspace, ingest, build_index
    >>> ws = Workspace(Path("my-cluster"))                       # doctest: +SKIP
    >>> ingest(["members.csv"], ws); build_index(ws)             # doctest: +SKIP
    >>> Matcher.open(ws).suggest("tender.yaml").lots[0].suggestions[:3]  # doctest: +SKIP
"""

from matcher.build import BuildSettings, build_index, ingest
from matcher.errors import MatcherError
from matcher.inputs.ocds import import_ocds
from matcher.inputs.tenders import read_tender
from matcher.rank.consortium import TeamConstraints
from matcher.schema import Lot, Participant, Project, Tender
from matcher.search import Matcher, consortium, similar, suggest
from matcher.store.workspace import Workspace

__version__ = "0.1.0"
__all__ = [
    "BuildSettings",
    "Lot",
    "Matcher",
    "MatcherError",
    "Participant",
    "Project",
    "TeamConstraints",
    "Tender",
    "Workspace",
    "build_index",
    "consortium",
    "import_ocds",
    "ingest",
    "read_tender",
    "similar",
    "suggest",
]
