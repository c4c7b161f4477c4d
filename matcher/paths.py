"""Where the bundled data lives, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    """The project's ``data/`` folder: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data", here.parent / "data"):
        if (candidate / "taxonomy" / "cpv_en.json").exists():
            return candidate
    raise FileNotFoundError(f"matcher's data folder was not found next to {here}; reinstall matcher")
