"""Storage: the workspace, its index versions, the writer lock, atomic writes and rejects files.

May import: the base modules of :mod:`matcher` (errors, schema, faults, paths, ...) only.
"""
