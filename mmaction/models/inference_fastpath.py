"""Inference fast path: BatchNorm folded into the preceding convolution, channels-last memory format, reduced
precision where the hardware computes it natively, optional ``torch.compile``.

Each step is exact or bounded: folding changes only float rounding (checked on a sample batch: the folded model
must agree with the original to 1e-4 relative, else nothing is folded); channels-last changes the memory layout,
not the arithmetic; bf16 keeps float32's range with 8 bits of mantissa (logits within ~1e-2 relative, the same
top-1 on the project's checks); ``torch.compile`` fuses kernels. ``precision='auto'`` picks bf16 on CPUs with
AVX-512 BF16 or AMX and on CUDA GPUs that support it, float32 elsewhere.
"""
from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX on this CPU (where oneDNN runs bf16 convolutions and matmuls natively)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            flags = set(re.findall(r'\b(avx512_bf16|amx_bf16)\b', f.read()))
    except OSError:
        flags = set()
    return bool(flags) and bool(torch.backends.mkldnn.is_available())


def resolve_precision(precision: str, device: torch.device) -> str:
    """'fp32', 'bf16' or 'fp16' for ``precision`` on ``device`` ('auto': bf16 where native, else fp32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got '{precision}'")
    if precision != 'auto':
        if precision == 'fp16' and device.type == 'cpu':
            raise ValueError("precision 'fp16' needs a GPU (CPUs compute fp16 slowly or not at all); use 'bf16'")
        return precision
    if device.type == 'cuda':
        return 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'
    return 'bf16' if device.type == 'cpu' and cpu_has_native_bf16() else 'fp32'


def _fold_into(conv: nn.Module, bn: _BatchNorm) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0) - bn.running_mean * scale
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    shape = (-1,) + (1,) * (conv.weight.dim() - 1)
    conv.weight = nn.Parameter(conv.weight * scale.reshape(shape))
    conv.bias = nn.Parameter(bias * scale + shift)


def _conv_bn_pairs(model: nn.Module, inputs: dict) -> list[tuple[str, str]]:
    """(conv name, bn name) pairs where, on a sample forward, the BN's input is the conv's output and nothing else
    reads it (so folding changes no other consumer). Consumers are read off the autograd graph of the pass, which
    also sees reads by plain tensor operations (``bn(y) + y``) that module hooks would miss."""
    conv_out: dict[Any, str] = {}  # grad_fn of a conv output -> conv name
    bn_in: list[tuple[Any, str]] = []  # (grad_fn of a BN input, BN name)
    heads: list[Any] = []  # grad_fns of every module input/output: the graph is walked from them
    handles = []
    names = {m: n for n, m in model.named_modules()}

    def grad_fns(values: Any) -> list[Any]:
        return [v.grad_fn for v in _tensors(values) if isinstance(v, torch.Tensor) and v.grad_fn is not None]

    def after(module: nn.Module, args: tuple, output: Any) -> None:
        fns = grad_fns(output)
        heads.extend(fns)
        if isinstance(module, nn.modules.conv._ConvNd) and isinstance(output, torch.Tensor) and fns:
            conv_out[fns[0]] = names[module]

    def before(module: nn.Module, args: tuple) -> None:
        fns = grad_fns(args)
        heads.extend(fns)
        if isinstance(module, _BatchNorm) and len(args) == 1 and fns:
            bn_in.append((fns[0], names[module]))

    for module in model.modules():
        if not list(module.children()):
            handles.append(module.register_forward_hook(after))
            handles.append(module.register_forward_pre_hook(before))
    try:
        with torch.enable_grad():
            output = model(**inputs)
        heads.extend(grad_fns(output))
    finally:
        for handle in handles:
            handle.remove()
    consumers: dict[Any, set] = {}
    seen, stack = set(), list(heads)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for parent, _ in node.next_functions:
            if parent is not None:
                consumers.setdefault(parent, set()).add(node)
                stack.append(parent)
    pairs = []
    for fn, bn_name in bn_in:
        conv_name = conv_out.get(fn)
        if conv_name is not None and len(consumers.get(fn, ())) == 1:
            pairs.append((conv_name, bn_name))
    return pairs


def fold_batchnorm(model: nn.Module, inputs: dict, rtol: float = 1e-4) -> tuple[nn.Module, int]:
    """A copy of ``model`` (eval mode) with every BatchNorm that directly follows a convolution folded into it and
    replaced by ``nn.Identity``. ``inputs`` (keyword arguments of one forward, e.g. one test batch) find the pairs
    and check the result: if the folded model's output differs by more than ``rtol`` relative, the model is returned
    unfolded. Returns (model, number of folded BatchNorms)."""
    original = model.eval()
    folded = copy.deepcopy(original).eval()
    pairs = _conv_bn_pairs(folded, inputs)
    if not pairs:
        return original, 0
    modules = dict(folded.named_modules())
    with torch.no_grad():
        for conv_name, bn_name in pairs:
            _fold_into(modules[conv_name], modules[bn_name])
            parent_name, _, attr = bn_name.rpartition('.')
            parent = modules[parent_name] if parent_name else folded
            if isinstance(parent, nn.Sequential) or isinstance(parent, (nn.ModuleList, nn.ModuleDict)):
                parent[int(attr) if attr.isdigit() else attr] = nn.Identity()
            else:
                setattr(parent, attr, nn.Identity())
        reference, result = original(**inputs), folded(**inputs)
    if not _close(reference, result, rtol):
        return original, 0
    return folded, len(pairs)


def _tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for v in out.values() for t in _tensors(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _tensors(v)]
    import numpy as np
    if isinstance(out, np.ndarray):
        return [torch.from_numpy(out)]
    return []


def _close(a: Any, b: Any, rtol: float) -> bool:
    ta, tb = _tensors(a), _tensors(b)
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb):
        x, y = x.float(), y.float()
        if x.shape != y.shape or (x - y).abs().max() > rtol * x.abs().max().clamp_min(1e-6):
            return False
    return True


def to_channels_last(model: nn.Module) -> nn.Module:
    """Weights in channels-last layout: ``channels_last_3d`` for 3D convolutions, ``channels_last`` for 2D ones."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            module.to(memory_format=torch.channels_last_3d)
        elif isinstance(module, nn.Conv2d):
            module.to(memory_format=torch.channels_last)
    return model


@dataclass
class FastPath:
    """What :func:`prepare_inference` turned on, for the start-of-run line."""
    precision: str
    folded_bn: int
    channels_last: bool
    compiled: bool

    def describe(self) -> str:
        return (f'precision {self.precision}, {self.folded_bn} BatchNorms folded, channels_last '
                f'{"on" if self.channels_last else "off"}, torch.compile {"on" if self.compiled else "off"}')

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.precision == 'fp32':
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16 if self.precision == 'bf16' else torch.float16)


def prepare_inference(model: nn.Module, inputs: dict, device: torch.device, precision: str = 'auto',
                      fold_bn: bool = True, channels_last: bool = True, compile: bool = False
                      ) -> tuple[nn.Module, FastPath]:
    """The eval-mode model to run, and the :class:`FastPath` describing it (its ``autocast(device)`` wraps each
    forward). ``inputs``: one sample batch (keyword arguments of the model's forward) on ``device``."""
    model = model.eval()
    folded = 0
    if fold_bn:
        model, folded = fold_batchnorm(model, inputs)
    if channels_last:
        model = to_channels_last(model)
    if compile:
        model = torch.compile(model)
    return model, FastPath(resolve_precision(precision, device), folded, channels_last, compile)


def run_fast(model: nn.Module, fast: FastPath, device: torch.device) -> Callable[..., Any]:
    """A callable that runs ``model(**batch)`` under the fast path's autocast."""
    def forward(**batch: Any) -> Any:
        with fast.autocast(device):
            return model(**batch)
    return forward
