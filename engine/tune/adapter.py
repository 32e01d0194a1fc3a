"""GGUF LoRA adapters: written in llama.cpp's adapter format, read back, checked against a base.

Layout (what llama.cpp's ``llama_adapter_lora_init`` expects): ``general.type = adapter``,
``adapter.type = lora``, ``adapter.lora.alpha``, and per adapted layer two tensors
``blk.N.<name>.weight.lora_a`` (rank × in) and ``.lora_b`` (out × rank).

llama.cpp stores the q and k projections of Llama-family models with their rows permuted for
its rope kernel (the converter does it; transformers undoes it on loading a GGUF). A LoRA
trained in torch must get the same row permutation on ``lora_b`` for q (by attention heads)
and k (by key/value heads), or the adapter loads fine and computes something else.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FolioError, ModelError
from ..generate.gguf import file_fingerprint, read_metadata

log = logging.getLogger(__name__)

# Architectures whose q/k rows llama.cpp permutes for rope.
PERMUTED_ARCHS = {"llama", "mistral"}
SUPPORTED_ARCHS = PERMUTED_ARCHS | {"qwen2", "qwen3"}


class AdapterError(FolioError):
    """An adapter file is not usable (damaged, not an adapter, or made for another model)."""


def rope_permute(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Hugging Face row order -> llama.cpp row order, head by head (rows: out × anything)."""
    out = rows.shape[0]
    half = out // n_heads // 2
    return rows.reshape(n_heads, 2, half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def rope_unpermute(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """The inverse of ``rope_permute``."""
    out = rows.shape[0]
    half = out // n_heads // 2
    return rows.reshape(n_heads, half, 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


@dataclass(frozen=True)
class BaseShape:
    architecture: str
    n_heads: int
    n_kv_heads: int


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    kind: str  # cpt | ift | "" for adapters not made by Folio
    alpha: float
    architecture: str
    base_fingerprint: str  # "" when unknown
    base_name: str
    on_top_of: tuple[str, ...]  # fingerprints of adapters this one was trained on top of
    fingerprint: str
    title: str

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "alpha": self.alpha,
            "architecture": self.architecture,
            "base_fingerprint": self.base_fingerprint,
            "base_name": self.base_name,
            "on_top_of": list(self.on_top_of),
            "fingerprint": self.fingerprint,
            "title": self.title,
        }


def write_adapter(
    path: Path,
    tensors: dict[str, tuple[np.ndarray, np.ndarray]],
    alpha: float,
    base: BaseShape,
    meta: dict[str, str],
) -> Path:
    """Write {"blk.N.attn_q": (A, B)} (torch layout) as a GGUF LoRA adapter, atomically: the
    file appears complete or not at all."""
    import gguf

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = gguf.GGUFWriter(str(tmp), arch=base.architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_name(meta.get("title", path.stem))
        for key, value in sorted(meta.items()):
            writer.add_string(f"folio.{key}", value)
        for name in sorted(tensors, key=_tensor_order):
            a, b = tensors[name]
            a = np.ascontiguousarray(a, dtype=np.float32)
            b = np.ascontiguousarray(b, dtype=np.float32)
            if base.architecture in PERMUTED_ARCHS:
                if name.endswith(".attn_q"):
                    b = np.ascontiguousarray(rope_permute(b, base.n_heads))
                elif name.endswith(".attn_k"):
                    b = np.ascontiguousarray(rope_permute(b, base.n_kv_heads))
            writer.add_tensor(f"{name}.weight.lora_a", a)
            writer.add_tensor(f"{name}.weight.lora_b", b)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        writer = None
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _discard(writer, tmp)  # an earlier adapter of that name stays as it was
        raise AdapterError(
            f"The adapter could not be written to {path.parent}: {exc.strerror or exc}."
        ) from exc
    except BaseException:
        _discard(writer, tmp)
        raise
    return path


def _discard(writer: Any, tmp: Path) -> None:
    """Close a half-written file and remove it."""
    if writer is not None:
        try:
            writer.close()
        except (OSError, ValueError):
            pass
        fout = getattr(writer, "fout", None)
        for f in fout if isinstance(fout, list) else [fout]:
            if f is not None and not f.closed:
                f.close()
    tmp.unlink(missing_ok=True)


def _tensor_order(name: str) -> tuple[int, str]:
    parts = name.split(".")
    return int(parts[1]), parts[2]


def read_adapter_tensors(path: Path, base: BaseShape) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The adapter's (A, B) pairs in torch layout (q/k rows un-permuted)."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        log.warning("adapter %s unreadable: %s", path, exc)
        raise AdapterError(
            f"The adapter {Path(path).name} cannot be read: the file is damaged or is not a "
            "LoRA adapter. Export it again from the Tune tab."
        ) from exc
    parts: dict[str, dict[str, np.ndarray]] = {}
    for t in reader.tensors:
        name = t.name
        if not name.endswith((".weight.lora_a", ".weight.lora_b")):
            continue
        stem, which = name.rsplit(".weight.lora_", 1)
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        parts.setdefault(stem, {})[which] = np.array(t.data, dtype=np.float32).reshape(shape)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for stem, ab in parts.items():
        if set(ab) != {"a", "b"}:
            raise AdapterError(f"The adapter {Path(path).name} is damaged ({stem} incomplete).")
        b = ab["b"]
        if base.architecture in PERMUTED_ARCHS:
            if stem.endswith(".attn_q"):
                b = rope_unpermute(b, base.n_heads)
            elif stem.endswith(".attn_k"):
                b = rope_unpermute(b, base.n_kv_heads)
        out[stem] = (ab["a"], np.ascontiguousarray(b))
    return out


def adapter_info(path: Path) -> AdapterInfo:
    """Read an adapter's header; ``AdapterError`` when it is not a LoRA adapter."""
    path = Path(path)
    try:
        meta = read_metadata(path)
    except ModelError as exc:
        raise AdapterError(str(exc).replace("model file", "adapter file")) from exc
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise AdapterError(f"{path.name} is not a LoRA adapter (it may be a model file).")
    alpha = meta.get("adapter.lora.alpha", 0.0)
    on_top = str(meta.get("folio.on_top_of", "") or "")
    return AdapterInfo(
        path=path,
        kind=str(meta.get("folio.kind", "")),
        alpha=float(alpha) if isinstance(alpha, int | float) else 0.0,
        architecture=str(meta.get("general.architecture", "")),
        base_fingerprint=str(meta.get("folio.base_fingerprint", "")),
        base_name=str(meta.get("folio.base_name", "")),
        on_top_of=tuple(x for x in on_top.split(",") if x),
        fingerprint=file_fingerprint(path),
        title=str(meta.get("general.name") or path.stem),
    )


def check_adapter(path: Path, model_path: Path, model_arch: str) -> AdapterInfo:
    """The adapter's info when it fits the model; ``AdapterError`` saying why it does not."""
    info = adapter_info(path)
    if info.architecture and model_arch and info.architecture != model_arch:
        raise AdapterError(
            f"{path.name} was made for a {info.architecture} model; the chat model is "
            f"{model_arch}. Use it with the model it was trained on."
        )
    if info.base_fingerprint and info.base_fingerprint != file_fingerprint(model_path):
        raise AdapterError(
            f"{path.name} was trained on {info.base_name or 'another model'}, not on "
            f"{Path(model_path).name}. An adapter only works on its own base model; choose "
            "that model, or train a new adapter on this one."
        )
    return info


def list_adapters(folder: Path) -> list[AdapterInfo]:
    """The usable LoRA adapters in a folder, by file name (damaged files are left out)."""
    out = []
    for path in sorted(Path(folder).glob("*.gguf")) if Path(folder).is_dir() else []:
        try:
            out.append(adapter_info(path))
        except FolioError:
            continue
    return out


def resolve_stack(path: Path) -> list[Path]:
    """The adapters to load for ``path``: the ones it was trained on top of (found beside it,
    by fingerprint), first, then itself."""
    path = Path(path)
    info = adapter_info(path)
    if not info.on_top_of:
        return [path]
    found: dict[str, Path] = {}
    for other in sorted(path.parent.glob("*.gguf")):
        if other != path:
            try:
                found[adapter_info(other).fingerprint] = other
            except AdapterError:
                continue
    stack = []
    for fp in info.on_top_of:
        if fp not in found:
            raise AdapterError(
                f"{path.name} was trained on top of another adapter that is no longer in "
                f"{path.parent}. Put that adapter back, or use a different one."
            )
        stack += [p for p in resolve_stack(found[fp]) if p not in stack]
    return [*stack, path]


def adapter_meta(
    kind: str, base_path: Path, base_name: str, on_top_of: list[Path], title: str
) -> dict[str, str]:
    return {
        "kind": kind,
        "base_fingerprint": file_fingerprint(base_path),
        "base_name": base_name,
        "on_top_of": ",".join(file_fingerprint(p) for p in on_top_of),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "title": title,
    }


def tensors_from_loras(loras: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        name: (
            layer.lora_A.detach().float().cpu().numpy(),
            layer.lora_B.detach().float().cpu().numpy(),
        )
        for name, layer in loras.items()
    }
