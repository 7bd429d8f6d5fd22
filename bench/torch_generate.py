"""PyTorch twin of mriseq's whole-subject generation for bench/inference.bench.ts.

One subject of 4 sequences, each [depth, 1, 1, H, W] (the slices as a batch, one time point, one
channel): every source is encoded once, in batches of `batch` slices, with the decoder's ConvLSTM
state computed once per batch, then decoded for each of the 4 targets (16 source-target pairs), as
src/model/infer.ts does. No gradients; the outputs are copied to NumPy as mriseq copies them out of
TensorFlow. The generator is bench/torch_generator.py's.
"""
import importlib.util
import os

import torch

_spec = importlib.util.spec_from_file_location(
    "bench_torch_generator", os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_generator.py")
)
tg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tg)


def decode_state(g, state, code, nout=1):
    """Generator.decode from the decoder's ConvLSTM output (shared by every target)."""
    s = tg.lrelu(g.style(torch.nn.functional.one_hot(torch.tensor([code]), g.cs).float()))
    h = state
    for r in g.dec_res:
        h = r(h, s)
    for conv in g.up:
        h = torch.nn.functional.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
        h = tg.lrelu(tg.inorm(conv(torch.nn.functional.pad(h, [1] * 4, mode="reflect"), s)))
    return torch.tanh(g.last(torch.nn.functional.pad(h, [3] * 4, mode="reflect"), s))


def build(case, args=None):
    w, h, d = (int(v) for v in case.split("x"))
    batch = int((args or {}).get("batch", d))
    torch.manual_seed(0)
    g = tg.Generator().eval()
    vols = [torch.rand(d, 1, 1, h, w) * 2 - 1 for _ in range(4)]

    def run():
        out = {}
        with torch.no_grad():
            for si, x in enumerate(vols):
                parts = {t: [] for t in range(4)}
                for b0 in range(0, d, batch):
                    feat = g.encode(x[b0 : b0 + batch])
                    state = g.declstm([feat])[0]
                    for t in range(4):
                        parts[t].append(decode_state(g, state, t).numpy())
                for t in range(4):
                    out[(si, t)] = parts[t]
        return out

    return run
