"""Mixed precision for `train_ch8`: what 'auto' picks on a device, and the autocast context.

`resolve_precision('auto', device)` is bf16 on a CPU with native bf16 (AVX512-BF16 or AMX, as
/proc/cpuinfo says) or on a bf16 GPU, fp16 on other GPUs, else fp32. `check_bf16_lstm` refuses
the one combination PyTorch cannot run: nn.LSTM in bf16 on a CPU without native bf16.
"""
import re
from contextlib import nullcontext

import torch
from torch import nn

from . import _validate
from .utils import cpuinfo

__all__ = ["resolve_precision"]


def _cpu_has_bf16():
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo()))


def resolve_precision(precision, device):
    """'auto' -> 'bf16' on a CPU with native bf16 or a bf16 GPU, 'fp16' on other GPUs, else 'fp32'."""
    _validate.choice(precision, "precision", ("auto", "fp32", "bf16", "fp16"))
    kind = torch.device(device).type
    if precision == "auto":
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if kind == "cpu" and _cpu_has_bf16() else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise ValueError("precision='fp16' needs a GPU; use 'bf16' or 'fp32' on the CPU")
    return precision


def check_bf16_lstm(net, precision, device):
    """bf16 asked for by name on a CPU without native bf16: PyTorch's LSTM (oneDNN) has no kernel
    for it there and would fail at the first step with 'could not create a primitive descriptor'.
    Called by train_epoch_ch8, where autocast is entered, and early by train_ch8."""
    if precision != "bf16" or torch.device(device).type != "cpu" or _cpu_has_bf16():
        return
    if isinstance(net, nn.Module) and any(isinstance(m, nn.LSTM) for m in net.modules()):
        raise ValueError("precision='bf16': this CPU has no native bf16 (AVX512-BF16 or AMX), and PyTorch's "
                         "nn.LSTM cannot run in bf16 without it; use precision='auto' (fp32 here) or 'fp32'")


def autocast(precision, device):
    """The context a training step runs in: nothing for fp32, torch.autocast for bf16 and fp16."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(torch.device(device).type, dtype=dtype)
