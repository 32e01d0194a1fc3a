"""Tuning: LoRA adapters for the chat model (CPT, IFT) and embedding fine-tuning.

Nothing here imports torch at module level; training runs in a child process (``job.py``).
"""

from .adapter import AdapterError, AdapterInfo, adapter_info, check_adapter
from .data import DataError, Example, PairsFile, load_pairs

__all__ = [
    "AdapterError",
    "AdapterInfo",
    "DataError",
    "Example",
    "PairsFile",
    "adapter_info",
    "check_adapter",
    "load_pairs",
]
