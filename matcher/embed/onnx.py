"""The ONNX Runtime backend: a sentence-transformers model exported once, then run without torch.

`export_onnx` (needs torch, once per workspace and model) traces the model with its pooling and
normalisation into one ONNX graph, quantises its matrix products to int8 (weights per column,
activations per row: :mod:`matcher.embed.quantise`), and checks parity: the mean cosine to the
PyTorch vectors of the bundled sample's texts must reach :data:`PARITY_FLOOR`, or the export is
refused. `OnnxEmbedder` then embeds with onnxruntime and the model's fast tokenizer only, so a
query process never imports torch. In both variants a text's vector does not depend on the other
texts of its run or on their padding.

Why not sentence-transformers' own ``backend="onnx"``: it needs optimum-onnx, which pins
transformers below 4.58 and would downgrade the installed stack; the graph exported here is the
same computation, and parity is checked rather than assumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from matcher.embed.base import CHUNK, Backend, Embedder, Kind, Progress, check_backend
from matcher.errors import ModelNotFound
from matcher.faults import crash_point
from matcher.store.files import atomic_path, sha256_file
from matcher.threads import thread_count

PARITY_FLOOR = 0.99  # mean cosine to the PyTorch vectors on the sample's texts
Variant = Literal["onnx", "onnx-int8"]  # the backends that run an export: float32, int8
_BATCH = 16  # texts per float32 ONNX run (sorted by length, so little padding)
# int8 could batch (its activation scales are per row: a batch cannot change a text's vector), but
# one text per run is faster: on 2 cores a run of 16 profile texts takes 2x as long per text as 16
# runs of one, and a suggest call's 5 lot texts take 76 ms in one run, 71 ms in five.
_BATCH_INT8 = 1
# 2: int8 with activation scales per row. Format 1 (dynamic quantisation, one scale per tensor:
# a batch's texts and padding moved each other's vectors) is exported again, not reused.
_FORMAT = 2
# The texts an export is checked on, given lazily (reading them costs a taxonomy load): see
# matcher.inputs.sample.sample_texts, which the callers pass.
ParityTexts = Callable[[], Sequence[str]]


class OnnxEmbedder(Embedder):
    """Embeds with an exported ONNX graph (tokenizer.json + model[-int8].onnx) on onnxruntime."""

    def __init__(self, folder: Path, variant: str = "onnx-int8", batch: int | None = None):
        """`batch`: texts per ONNX run (default: 16 for float32, 1 for int8, the fastest on 2 cores)."""
        meta = _read_meta(folder)
        if variant not in meta.get("files", {}):
            raise ModelNotFound(f"{folder}: no {variant} export; rebuild with `matcher index build`")
        self.folder = folder
        self.variant = variant
        self.name: str = meta["model"]
        self.source_fingerprint: str = meta["source_fingerprint"]
        self.parity: float = float(meta.get("parity", {}).get(variant, 0.0))
        self._dimension = int(meta["dimension"])
        self._file = folder / meta["files"][variant]["file"]
        digest = meta["files"][variant]["sha256"]
        self.fingerprint = hashlib.sha256(f"{self.source_fingerprint}:{variant}:{digest}".encode()).hexdigest()[:16]
        self._max_length = int(meta["max_seq_length"])
        self._batch = batch or (_BATCH_INT8 if variant == "onnx-int8" else _BATCH)
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def files(self) -> tuple[Path, ...]:
        """What this variant needs to run elsewhere: its metadata, tokenizer and graph."""
        return (self.folder / "export.json", self.folder / "tokenizer.json", self._file)

    def describe(self, workspace_root: Path | None = None) -> dict[str, Any]:
        folder = self.folder.relative_to(workspace_root) if workspace_root is not None else self.folder
        return {"backend": self.variant, "backend_folder": folder.as_posix(), "parity": self.parity}

    def spec(self) -> dict[str, Any]:
        """The export as bytes (model, tokenizer, metadata: ~60 MB for int8, whose token-embedding
        table stays float32), for actors anywhere: no shared filesystem needed."""
        return {"model": self.name, "variant": self.variant, "files": {p.name: p.read_bytes() for p in self.files}}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> OnnxEmbedder:
        """The embedder of a :meth:`spec`, its files written to a temporary folder."""
        import shutil
        import tempfile  # only Ray actors rebuild from a spec: not imported by every command

        folder = Path(tempfile.mkdtemp(prefix="matcher-onnx-"))
        try:
            for name, data in spec["files"].items():
                (folder / Path(name).name).write_bytes(data)
            embedder = cls(folder, spec["variant"])
            embedder._load()  # the session and tokenizer hold everything: the ~60 MB of files can go
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return embedder

    def _load(self) -> None:
        if self._session is not None:
            return
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = thread_count()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # no busy-waiting between runs: spinning threads steal the cores FAISS and numpy need next
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(self._file), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.no_padding()  # tokenizer.json may pad to a fixed length; pad per batch instead
        tokenizer.enable_truncation(self._max_length)
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        self._load()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Batch by length: sorted, each batch pads only to its own longest text.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), CHUNK):
            for b in range(start, min(start + CHUNK, len(texts)), self._batch):
                rows = order[b : min(b + self._batch, start + CHUNK, len(texts))]
                out[rows] = self._run([texts[i] for i in rows])
            if progress:
                progress(min(start + CHUNK, len(texts)))
            crash_point("embedding")
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        vectors = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        return np.asarray(vectors, dtype=np.float32)


def onnx_folder(workspace_root: Path, source: Embedder) -> Path:
    """Where a workspace keeps the export of a model: one folder per model fingerprint."""
    return workspace_root / "models" / "onnx" / source.fingerprint


def ensure_onnx(
    workspace_root: Path,
    source: Embedder,
    variant: Variant,
    notify: Callable[[str], None] | None = None,
    *,
    parity_texts: ParityTexts,
) -> OnnxEmbedder:
    """The workspace's export of `source` as `variant` ("onnx" or "onnx-int8"), exported once.

    `parity_texts` gives the texts the parity check embeds (called only when exporting).

    Raises ModelNotFound when the model cannot be exported or the variant fails the parity check.
    """
    _exportable_folder(source)
    folder = onnx_folder(workspace_root, source)
    if not _fresh(folder, source):
        shared = shared_export_dir() / source.fingerprint
        if _fresh(shared, source):  # exported before on this machine: copy, checked, not export again
            _copy_export(shared, folder)
        else:
            if notify:
                notify(f"Exporting {source.name} to ONNX in {folder} (once per model)...")
            export_onnx(source, folder, parity_texts())
            _copy_export(folder, shared)
    meta = _read_meta(folder)
    parity = float(meta["parity"].get(variant, 0.0))
    if parity < PARITY_FLOOR:
        raise ModelNotFound(
            f"the {variant} export of {source.name} fails the parity check (mean cosine {parity:.4f} "
            f"< {PARITY_FLOOR}); use --backend torch or --backend onnx"
        )
    return OnnxEmbedder(folder, variant)


def shared_export_dir() -> Path:
    """Exports kept for other workspaces of this user: MATCHER_ONNX_CACHE, else ~/.cache/matcher/onnx."""
    if os.environ.get("MATCHER_ONNX_CACHE"):
        return Path(os.environ["MATCHER_ONNX_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "matcher" / "onnx"


def _fresh(folder: Path, source: Embedder) -> bool:
    """An export of this very model whose files still match their checksums."""
    try:
        meta = _read_meta(folder)
        return (
            meta.get("format") == _FORMAT
            and meta.get("source_fingerprint") == source.fingerprint
            and all(sha256_file(folder / f["file"]) == f["sha256"] for f in meta["files"].values())
            and (folder / "tokenizer.json").is_file()
        )
    except (ModelNotFound, OSError, KeyError, TypeError):
        return False


def _copy_export(source: Path, target: Path) -> None:
    """Copy an export folder into place atomically (best effort: a cache that cannot be written is skipped)."""
    try:
        with atomic_path(target) as building:
            shutil.copytree(source, building)
    except OSError:
        pass


def _exportable_folder(source: Embedder) -> Path:
    """The sentence-transformers folder an export of `source` traces, or ModelNotFound."""
    if source.source_folder is None:
        raise ModelNotFound(f"model {source.name} is not a sentence-transformers folder; it has no ONNX export")
    return source.source_folder


def export_onnx(source: Embedder, folder: Path, parity_texts: Sequence[str]) -> Path:
    """Export `source` to ONNX (float32 and int8) in `folder`, with the parity of each variant.

    Written into a temporary folder beside `folder` and renamed into place, so an interrupted
    export leaves nothing half-written.
    """
    model_folder = _exportable_folder(source)
    modules = _check_exportable(model_folder)
    with atomic_path(folder) as building:
        building.mkdir()
        _trace(model_folder, building, modules["pooling"])
        _quantise(building / "model.onnx", building / "model-int8.onnx")
        shutil.copyfile(model_folder / "tokenizer.json", building / "tokenizer.json")
        texts = list(parity_texts)
        reference = source.encode(texts)
        files = {
            variant: {"file": name, "sha256": sha256_file(building / name)}
            for variant, name in (("onnx", "model.onnx"), ("onnx-int8", "model-int8.onnx"))
        }
        meta = {
            "format": _FORMAT,
            "model": source.name,
            "source_fingerprint": source.fingerprint,
            "dimension": int(reference.shape[1]),
            "max_seq_length": modules["max_seq_length"],
            "files": files,
            "parity_texts": len(texts),
        }
        (building / "export.json").write_text(json.dumps({**meta, "parity": {}}, indent=2))
        parity = {variant: _parity(OnnxEmbedder(building, variant), texts, reference) for variant in files}
        (building / "export.json").write_text(json.dumps({**meta, "parity": parity}, indent=2))
        crash_point("onnx-exported")
    return folder


def _parity(embedder: Embedder, texts: list[str], reference: np.ndarray) -> float:
    """Mean cosine of `embedder`'s vectors to the reference (PyTorch) vectors of the same texts."""
    return round(float(np.mean(np.sum(embedder.encode(texts) * reference, axis=1))), 5)


def _check_exportable(model_folder: Path) -> dict[str, Any]:
    """Transformer → mean or CLS pooling (→ Normalize): the layouts this exporter reproduces."""
    try:
        modules = json.loads((model_folder / "modules.json").read_text())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_path = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((model_folder / pooling_path / "config.json").read_text())
        bert = json.loads((model_folder / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        raise ModelNotFound(f"{model_folder}: not a sentence-transformers layout the ONNX export knows") from None
    mode = (
        "mean" if pooling.get("pooling_mode_mean_tokens") else "cls" if pooling.get("pooling_mode_cls_token") else None
    )
    if types[:2] != ["Transformer", "Pooling"] or set(types[2:]) - {"Normalize"} or mode is None:
        raise ModelNotFound(
            f"{model_folder}: modules {types} with this pooling cannot be exported; use --backend torch"
        )
    if not (model_folder / "tokenizer.json").exists():
        raise ModelNotFound(f"{model_folder}: no tokenizer.json (a fast tokenizer) to run without torch")
    return {"pooling": mode, "max_seq_length": int(bert.get("max_seq_length") or 256)}


def _trace(model_folder: Path, folder: Path, pooling: str) -> None:
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    model = AutoModel.from_pretrained(str(model_folder), local_files_only=True, trust_remote_code=False).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_folder), local_files_only=True, trust_remote_code=False)
    example = tokenizer(["a short text", "a somewhat longer text to give the batch some padding"], return_tensors="pt",
                        padding=True)  # fmt: skip
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in example]

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            kwargs = dict(zip(names, inputs))
            hidden = self.model(**kwargs).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = kwargs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(), tuple(example[n] for n in names), str(folder / "model.onnx"), input_names=names,
            output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=17,
            dynamo=False,
        )  # fmt: skip


def _quantise(source: Path, target: Path) -> None:
    """int8 matrix products whose vectors do not depend on the batch (see :mod:`matcher.embed.quantise`)."""
    from matcher.embed.quantise import quantise_matmuls

    quantise_matmuls(source, target)


def _read_meta(folder: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((folder / "export.json").read_text()))
    except (OSError, ValueError):
        raise ModelNotFound(f"{folder}: no ONNX export here; rebuild with `matcher index build`") from None


def resolve_backend(
    workspace_root: Path,
    embedder: Embedder,
    backend: Backend,
    notify: Callable[[str], None] | None = None,
    *,
    parity_texts: ParityTexts,
) -> Embedder:
    """The embedder to build with for `--backend`: "auto" takes int8 ONNX where it exports and passes
    parity, else float32 ONNX, else PyTorch; an explicit choice that cannot be met is an error.

    Only an embedder with a :attr:`~Embedder.source_folder` (a sentence-transformers model) has an
    ONNX export; any other is returned as it is for "auto" and "torch".
    """
    backend = check_backend(backend)  # a string from a caller that did not check it
    if backend == "torch" or embedder.source_folder is None:
        if backend in ("onnx", "onnx-int8"):
            raise ModelNotFound(f"--backend {backend}: model {embedder.name} has no ONNX export; use --backend auto")
        return embedder
    if backend != "auto":
        return ensure_onnx(workspace_root, embedder, backend, notify, parity_texts=parity_texts)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return embedder
    for variant in ("onnx-int8", "onnx"):
        try:
            return ensure_onnx(workspace_root, embedder, variant, notify, parity_texts=parity_texts)
        except ModelNotFound:
            continue
    return embedder
