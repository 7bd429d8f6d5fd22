"""PyTorch CUDA reference for bench/gpu/webgpu-probe.ts: the same conv workloads and generator step
(bench/torch_generator.py moved to the GPU). Run from the repository root."""
import json, statistics, sys, time
import torch, torch.nn.functional as F
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import torch_generator as tg
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
if hasattr(torch, 'set_default_device'): torch.set_default_device(dev)
sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
REPS = 20 if dev == 'cuda' else 1
torch.backends.cudnn.benchmark = True
out = {'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0) if dev == 'cuda' else 'none'}
def tm(name, reps, f):
    f(); f(); sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); sync(); ts.append((time.perf_counter() - t0) * 1000)
    out[name] = round(statistics.median(ts), 2); print(name, out[name], 'ms', flush=True)
for size in (64, 128):
    x = torch.randn(4, 32, size, size, device=dev, requires_grad=True); w = torch.randn(32, 32, 3, 3, device=dev, requires_grad=True); dy = torch.randn(4, 32, size, size, device=dev)
    tm(f'conv2d-{size}-fwd', REPS, lambda: F.conv2d(x, w, padding=1).cpu())
    tm(f'conv2d-{size}-fwd-grads', REPS, lambda: [t.cpu() for t in torch.autograd.grad(F.conv2d(x, w, padding=1), [x, w], dy)])
x = torch.randn(2, 16, 16, 16, 16, device=dev, requires_grad=True); w = torch.randn(16, 16, 3, 3, 3, device=dev, requires_grad=True); dy = torch.randn(2, 16, 16, 16, 16, device=dev)
tm('conv3d-16-fwd', REPS, lambda: F.conv3d(x, w, padding=1).cpu())
tm('conv3d-16-fwd-grads', REPS, lambda: [t.cpu() for t in torch.autograd.grad(F.conv3d(x, w, padding=1), [x, w], dy)])
for size in ((64, 128, 256) if dev == 'cuda' else (64,)):
    torch.manual_seed(0)
    g = tg.Generator().to(dev); opt = torch.optim.Adam(g.parameters(), lr=2e-4)
    xs = (torch.rand(1, 1, 1, size, size) * 2 - 1).to(dev); xt = (torch.rand(1, 1, 1, size, size) * 2 - 1).to(dev)
    tm(f'generator-step-{size}', 10 if dev == 'cuda' else 1, lambda: tg.step(g, opt, xs, xt, 0, 2))
print('JSON ' + json.dumps(out))
