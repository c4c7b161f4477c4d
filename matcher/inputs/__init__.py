"""Input: field parsers, participant tables, tenders, OCDS files, procurement history, entity resolution.

Everything that reads what a user hands in, validates it row by row and says where it was wrong.
May import: the base modules and :mod:`matcher.store`; not embed, index or rank.
"""
