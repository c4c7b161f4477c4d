"""Sections of a generated doc that another script owns, kept between its two markers.

A script that writes one writes ``<!-- NAME:begin -->``, its text, then ``<!-- NAME:end -->``;
a script that regenerates the whole doc keeps every such section (see scripts/bench.py).
"""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"<!-- ([\w-]+):begin -->\n.*?<!-- \1:end -->", re.DOTALL)


def marked_sections(text: str) -> list[str]:
    """Every marked section of `text`, markers included, in order."""
    return [m.group(0) for m in _SECTION.finditer(text)]


def put_section(path: Path, name: str, body: str) -> None:
    """Write `body` between the markers of section `name` in `path`: in place of the section when
    the file has one, appended at the end otherwise (the file is created when missing)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
