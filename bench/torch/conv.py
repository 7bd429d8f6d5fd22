"""PyTorch baseline for bench/engine.bench.ts: the same convolution workloads, channels-first.

`build(case, args)` returns a function running one repetition, for bench/torch/server.py (which
sets the thread count, times the repetitions and alternates them with mriseq's).
"""
import torch
import torch.nn.functional as F

def conv2d(h, grads):
    x = torch.randn(4, 32, h, h, requires_grad=grads)
    w = torch.randn(32, 32, 3, 3, requires_grad=grads)
    dy = torch.randn(4, 32, h, h)
    if not grads:
        def f():
            with torch.no_grad():
                F.conv2d(x, w, padding=1)
        return f

    def g():
        y = F.conv2d(x, w, padding=1)
        torch.autograd.grad(y, [x, w], dy)
    return g


def conv3d(grads):
    x = torch.randn(2, 16, 16, 16, 16, requires_grad=grads)
    w = torch.randn(16, 16, 3, 3, 3, requires_grad=grads)
    dy = torch.randn(2, 16, 16, 16, 16)
    if not grads:
        def f():
            with torch.no_grad():
                F.conv3d(x, w, padding=1)
        return f

    def g():
        y = F.conv3d(x, w, padding=1)
        torch.autograd.grad(y, [x, w], dy)
    return g


CASES = {
    "conv2d-64-fwd": lambda: conv2d(64, False),
    "conv2d-64-fwd-grads": lambda: conv2d(64, True),
    "conv3d-16-fwd": lambda: conv3d(False),
    "conv3d-16-fwd-grads": lambda: conv3d(True),
    "conv2d-128-fwd-grads": lambda: conv2d(128, True),
}


def build(case, args=None):
    if case not in CASES:
        raise KeyError(f"no PyTorch case {case!r} (have {sorted(CASES)})")
    return CASES[case]()

