"""Storage: the workspace and its index versions, the participant and vector tables, the writer lock,
atomic writes and rejects files.

May import: the base modules of :mod:`matcher` (errors, schema, faults, paths, ...) only.
"""
