"""Read a GGUF file's metadata header without loading the model (fast: model lists, checks)."""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ModelError
from ..messages import storage_cause

GGUF_MAGIC = b"GGUF"

# llama.cpp's `general.file_type` values (enum llama_ftype) -> the names people know.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4",
}  # fmt: skip

_QUANT_IN_NAME = re.compile(
    r"(?i)(?<![a-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|F16|F32|BF16|MXFP4)(?![a-z0-9])"
)

# GGUF value types: id -> struct format (scalars); 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
# Metadata we keep; long arrays (the vocabulary) are skipped without decoding.
_KEEP_SUFFIXES = (".context_length", ".block_count")
_KEEP = {
    "general.architecture", "general.name", "general.type", "general.file_type",
    "general.size_label", "tokenizer.chat_template", "adapter.type", "adapter.lora.alpha",
}  # fmt: skip
_KEEP_PREFIXES = ("folio.",)
_KEEP_SUFFIXES_HEADS = (".attention.head_count", ".attention.head_count_kv")


@dataclass(frozen=True)
class ModelInfo:
    """What a model list shows about a GGUF file."""

    path: str
    name: str
    size_bytes: int
    quantization: str
    context_length: int
    architecture: str
    file_type: str  # "model" or "adapter"
    has_chat_template: bool
    source: str = ""  # which folder it was found in ("Folio", "LM Studio", ...)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "name": self.name,
            "size_bytes": self.size_bytes,
            "quantization": self.quantization,
            "context_length": self.context_length,
            "architecture": self.architecture,
            "source": self.source,
        }


class _Reader:
    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f = f
        self.size = size

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise ModelError("The model file is cut short (incomplete download?).")
        return data

    def scalar(self, fmt: str) -> object:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def string(self, keep: bool = True) -> str:
        n = self.u64()
        if n > self.size:
            raise ModelError("The model file's header is damaged.")
        if not keep:
            self.f.seek(n, 1)
            return ""
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, keep: bool) -> object:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string(keep)
        if vtype == _ARRAY:
            item_type = int(struct.unpack("<I", self.read(4))[0])
            count = self.u64()
            if item_type in _SCALARS:  # fixed width: skip in one seek
                self.f.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
            else:
                for _ in range(count):
                    self.value(item_type, keep=False)
            return None
        raise ModelError("The model file's header is damaged (unknown value type).")


def read_metadata(path: Path) -> dict[str, object]:
    """The kept metadata keys of a GGUF file; ``ModelError`` when it is not one."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise ModelError(
                    f"{path.name} is not a GGUF model file. Folio runs llama.cpp models in "
                    "GGUF format (files ending in .gguf)."
                )
            r = _Reader(f, size)
            version = int(struct.unpack("<I", r.read(4))[0])
            if version < 2:
                raise ModelError(
                    f"{path.name} is in an old model format (GGUF version {version}) that "
                    "Folio cannot use. Download the model again in today's GGUF format."
                )
            r.u64()  # tensor count
            n_kv = r.u64()
            meta: dict[str, object] = {}
            for _ in range(n_kv):
                key = r.string()
                vtype = int(struct.unpack("<I", r.read(4))[0])
                keep = (
                    key in _KEEP
                    or key.endswith(_KEEP_SUFFIXES + _KEEP_SUFFIXES_HEADS)
                    or key.startswith(_KEEP_PREFIXES)
                )
                value = r.value(vtype, keep)
                if keep:
                    meta[key] = value
            return meta
    except OSError as exc:
        cause = storage_cause(exc, reading=True)
        raise ModelError(f"The model file {path.name} cannot be read because {cause}.") from exc


def model_info(path: Path, source: str = "") -> ModelInfo:
    meta = read_metadata(path)
    arch = str(meta.get("general.architecture", ""))
    ftype = meta.get("general.file_type")
    quant = FILE_TYPES.get(int(ftype), "") if isinstance(ftype, int) else ""
    if not quant:
        m = _QUANT_IN_NAME.search(path.stem)
        quant = m.group(1).upper() if m else "unknown"
    ctx = meta.get(f"{arch}.context_length", 0)
    return ModelInfo(
        path=str(path),
        name=str(meta.get("general.name") or path.stem),
        size_bytes=path.stat().st_size,
        quantization=quant,
        context_length=int(ctx) if isinstance(ctx, int) else 0,
        architecture=arch,
        file_type=str(meta.get("general.type") or "model"),
        has_chat_template=bool(meta.get("tokenizer.chat_template")),
        source=source,
    )


def file_fingerprint(path: Path) -> str:
    """A short id of a model or adapter file's exact bytes, cheap even for many-GB files:
    its size plus hashes of its first and last MiB (GGUF headers and tensor data differ
    between any two different models or quantizations)."""
    h = hashlib.sha256()
    try:
        size = path.stat().st_size
        h.update(str(size).encode())
        with path.open("rb") as f:
            h.update(f.read(1 << 20))
            if size > 2 << 20:
                f.seek(-(1 << 20), 2)
                h.update(f.read())
    except OSError as exc:
        cause = storage_cause(exc, reading=True)
        raise ModelError(f"The model file {path.name} cannot be read because {cause}.") from exc
    return h.hexdigest()[:16]
