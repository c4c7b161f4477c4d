"""Evaluation on procurement history, and synthetic firm tables for benchmarks.

May import: everything below the library verbs (base, store, inputs, embed, index, rank).
"""
