"""Retrieval structures: FAISS vector indexes (flat, IVF, HNSW) and the multilingual BM25 index.

May import: the base modules and :mod:`matcher.store`; not inputs, embed or rank.
"""
