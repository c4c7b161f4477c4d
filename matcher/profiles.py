"""The texts that get embedded: one per participant profile, one per lot or tender."""

from __future__ import annotations

import hashlib
import json

from matcher.language import detect
from matcher.schema import Lot, Participant, Tender
from matcher.taxonomy import Taxonomy, load_taxonomy

# all-MiniLM-L6-v2 reads 256 word pieces; the most telling parts go first so that
# truncation drops the tail of the project list, not the description.
MAX_PROJECTS_IN_TEXT = 6


def _labels(codes: tuple[str, ...], taxonomy: Taxonomy, language: str = "en") -> str:
    # code labels in the text's own language (CPV has English and Russian), so they add words
    # a same-language request uses; other languages get the English labels
    return "; ".join(taxonomy.label(c, "ru" if language in ("ru", "uk") else "en") for c in codes)


def participant_language(participant: Participant) -> str:
    """The participant's language as stated, else guessed from its description (or name)."""
    return participant.language or detect(participant.description or participant.name)


def lot_language(lot: Lot, tender: Tender) -> str:
    """The lot's language as stated (on the lot or the tender), else guessed from its text."""
    return lot.language or tender.language or detect(" ".join((lot.title, lot.description, tender.title)))


def profile_text(participant: Participant, taxonomy: Taxonomy | None = None) -> str:
    """Text for a participant: name and kind, description, code labels, recent projects."""
    taxonomy = taxonomy or load_taxonomy()
    p = participant
    parts = [f"{p.name} ({p.kind})." if p.kind else f"{p.name}."]
    if p.description:
        parts.append(p.description.rstrip(".") + ".")
    if p.codes:
        parts.append(f"Capabilities: {_labels(p.codes, taxonomy, participant_language(p))}.")
    if p.projects:
        recent = sorted(p.projects, key=lambda x: x.year or 0, reverse=True)[:MAX_PROJECTS_IN_TEXT]
        parts.append("Past projects: " + "; ".join(x.title for x in recent) + ".")
    return " ".join(parts)


def lot_text(lot: Lot, tender: Tender, taxonomy: Taxonomy | None = None) -> str:
    """Text for one lot: its own title, description and code labels, then the tender's title."""
    taxonomy = taxonomy or load_taxonomy()
    parts = [x.rstrip(".") + "." for x in (lot.title, lot.description) if x]
    if lot.codes:
        parts.append(f"Work: {_labels(lot.codes, taxonomy, lot_language(lot, tender))}.")
    if tender.title and tender.title != lot.title:
        parts.append(f"Part of: {tender.title.rstrip('.')}.")
    return " ".join(parts)


def tender_text(tender: Tender, taxonomy: Taxonomy | None = None) -> str:
    """Text for the whole tender: title, description and every lot's title."""
    parts = [x.rstrip(".") + "." for x in (tender.title, tender.description) if x]
    titles = [lot.title for lot in tender.lots if lot.title and lot.title != tender.title]
    if titles:
        parts.append("Lots: " + "; ".join(titles) + ".")
    return " ".join(parts) or lot_text(tender.lots[0], tender, taxonomy)


def content_hash(participant: Participant) -> str:
    """A stable hash of everything in a profile; equal hashes mean equal embeddings."""
    payload = json.dumps(participant.as_record(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def profile_vectors_texts(participant: Participant, taxonomy: Taxonomy | None = None) -> list[str]:
    """The texts a participant is indexed by: its profile, then each distinct past project.

    A firm matches a request by its best text (max over its vectors): one long profile
    truncated at the model's input length loses most of a long track record, and an average
    blurs it (docs/evaluation.md compares the three).
    """
    texts = [profile_text(participant, taxonomy)]
    for title in dict.fromkeys(p.title for p in participant.projects):
        if title and title not in texts:
            texts.append(title)
    return texts


def lexical_text(participant: Participant, taxonomy: Taxonomy | None = None) -> str:
    """Everything BM25 should see of a participant: its profile text and all project titles."""
    return " ".join(profile_vectors_texts(participant, taxonomy))


def lexical_segments(participant: Participant, taxonomy: Taxonomy | None = None) -> list[tuple[str, str]]:
    """What BM25 indexes for a participant, each part with its language: its own texts in its
    language, plus its code labels in English and in Russian, so that a request in either
    language finds a member whose codes agree whatever language the member writes in."""
    taxonomy = taxonomy or load_taxonomy()
    segments = [(lexical_text(participant, taxonomy), participant_language(participant))]
    if participant.codes:
        segments += [(_labels(participant.codes, taxonomy, lang), lang) for lang in ("en", "ru")]
    return segments
