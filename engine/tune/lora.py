"""A small LoRA for torch ``nn.Linear`` layers, laid out the way llama.cpp's adapters are.

``A`` is (rank, in) and ``B`` is (out, rank); the layer computes ``W x + scale * B A x`` with
``scale = alpha / rank``, which is exactly what llama.cpp applies for a GGUF LoRA adapter
(times the user's adapter scale). Torch is imported by the functions that need it, so the
engine can be imported without it.
"""

from __future__ import annotations

import math
from typing import Any

# Hugging Face module names of the linear layers we adapt -> llama.cpp tensor names.
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
ALL_LINEAR = tuple(HF_TO_GGUF)


def make_lora_linear(base: Any, rank: int, alpha: float, dropout: float) -> Any:
    import torch
    from torch import nn

    class LoraLinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.rank = rank
            self.alpha = alpha
            self.scale = alpha / rank
            self.enabled = True
            self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
            self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.base(x)
            if not self.enabled:
                return out
            update = self.drop(x).to(self.lora_A.dtype) @ self.lora_A.T @ self.lora_B.T
            return out + (update * self.scale).to(out.dtype)

    return LoraLinear()


def apply_lora(
    model: Any, rank: int, alpha: float, dropout: float = 0.0, targets: tuple[str, ...] = ALL_LINEAR
) -> dict[str, Any]:
    """Wrap each target linear layer of every decoder block; freeze everything else.

    Returns {llama.cpp tensor base name ("blk.3.attn_q"): LoraLinear}.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.model.layers
    out: dict[str, Any] = {}
    for i, layer in enumerate(layers):
        for hf_name in targets:
            parent_name, child = hf_name.split(".")
            parent = getattr(layer, parent_name)
            wrapped = make_lora_linear(getattr(parent, child), rank, alpha, dropout)
            setattr(parent, child, wrapped)
            out[f"blk.{i}.{HF_TO_GGUF[hf_name]}"] = wrapped
    return out


def set_lora_enabled(loras: dict[str, Any], enabled: bool) -> None:
    for layer in loras.values():
        layer.enabled = enabled


def merge_into_base(model: Any, name: str, a: Any, b: Any, scale: float) -> None:
    """Add ``scale * B @ A`` to the weight of the block layer named like "blk.3.attn_q"."""
    import torch

    _, idx, kind = name.split(".")
    hf_name = next(k for k, v in HF_TO_GGUF.items() if v == kind)
    parent_name, child = hf_name.split(".")
    linear = getattr(getattr(model.model.layers[int(idx)], parent_name), child)
    if hasattr(linear, "base"):
        linear = linear.base
    with torch.no_grad():
        delta = torch.as_tensor(b, dtype=torch.float32) @ torch.as_tensor(a, dtype=torch.float32)
        linear.weight += (delta * scale).to(linear.weight.dtype)
