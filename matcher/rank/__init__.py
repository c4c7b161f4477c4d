"""Ranking: score parts, the candidate pool, the hand-weighted and learned rankers, consortia.

May import: the base modules, :mod:`matcher.store`, :mod:`matcher.inputs`, :mod:`matcher.embed`
and :mod:`matcher.index`; never the library verbs, render, the CLI or the web.
"""
