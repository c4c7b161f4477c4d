"""Embedding: the Embedder interface and its implementations (PyTorch, ONNX, e5, Ray), the embedding cache.

May import: the base modules and :mod:`matcher.store`; not inputs, index or rank.
"""
