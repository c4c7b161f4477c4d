"""Ranking: score parts, the candidate pool, the hand-weighted and learned rankers, consortia.

Modules, lowest first: ``need`` (what a request asks for, the hand weights), ``parts`` (each
score part's value and words, :class:`~matcher.rank.parts.Scored`), ``pool`` (firms as arrays,
the candidate rule, top-k), ``hand``, ``features`` + ``learned`` and ``lambdarank`` (the rankers:
hand-weighted, linear, LightGBM), ``ranker`` (the :class:`~matcher.rank.ranker.Ranker` interface
and :func:`~matcher.rank.ranker.rank`), ``trained`` (the one factory that trains or loads either
learned kind),
``team_problem``, ``team_solvers`` and ``consortium`` (teams for multi-lot tenders).

May import: the base modules, :mod:`matcher.store`, :mod:`matcher.inputs`, :mod:`matcher.embed`
and :mod:`matcher.index`; never the library verbs, render, the CLI or the web.
"""
