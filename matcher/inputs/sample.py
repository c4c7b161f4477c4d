"""The bundled sample cluster: its member table, its tenders, and the texts they embed to."""

from __future__ import annotations

from pathlib import Path

from matcher.paths import data_dir


def sample_participants_path() -> Path:
    """``data/sample/participants.csv``: the sample cluster's 109 members (English and Russian)."""
    return data_dir() / "sample" / "participants.csv"


def sample_tender_paths() -> list[Path]:
    """The sample tenders (YAML, JSON and OCDS), in name order."""
    return sorted((sample_participants_path().parent / "tenders").glob("*"))


def sample_texts() -> list[str]:
    """The sample's member profiles and tender lots as the texts that get embedded.

    These are the parity texts of the ONNX export: a model variant must embed them like PyTorch does.
    """
    from matcher.inputs.participants import read_participants
    from matcher.inputs.tenders import read_tender
    from matcher.profiles import lot_text, profile_text
    from matcher.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    participants = read_participants([sample_participants_path()], write_rejects=False).participants
    texts = [profile_text(p, taxonomy) for p in participants]
    for path in sample_tender_paths():
        tender = read_tender(path)
        texts += [lot_text(lot, tender, taxonomy) for lot in tender.lots]
    return texts
