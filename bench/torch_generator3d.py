"""PyTorch twin of mriseq's 3D Seq2Seq generator (lite preset, ndims 3) for bench/generator3d.bench.ts.

Written from the science spec's 3D variant, like src/model with ndims 3: encoder (reflect pad +
Conv3d + InstanceNorm + LeakyReLU 0.2, residual blocks), 3-layer 3D ConvLSTM fusion averaged over
t, 3-layer 3D ConvLSTM decoder, hyper-convolution (conv3d with kernels generated from the target
code) residual blocks and up stages (trilinear x2, align_corners=False), last hyper-conv k7 + tanh.
One step = encode x_s once, decode to t and s, cycle G(y_t, s), 10*(SmoothL1 + SmoothL1) +
10*SmoothL1 + 0.01*(1-SSIM) with a 7x7x7 window over y_t and y_s, backward, Adam: the default
recipe's step, as bench/torch_generator.py is for 2D. `build(case)` returns a function running one
step on a case**3 patch, for bench/torch/server.py (which times it).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def inorm(x):
    return F.instance_norm(x, eps=1e-5)


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def rpad(x, p):
    return F.pad(x, [p] * 6, mode="reflect")


class Conv(nn.Module):
    def __init__(self, cin, cout, k, stride, act=True):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, stride=stride, padding=(k - 1) // 2, padding_mode="reflect")
        self.act = act

    def forward(self, x):
        y = inorm(self.conv(x))
        return lrelu(y) if self.act else y


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = Conv(c, c, 3, 1)
        self.b = Conv(c, c, 3, 1, act=False)

    def forward(self, x):
        return x + self.b(self.a(x))


class Hyper(nn.Module):
    """conv3d whose kernel is P . f(code) and bias B . g(code)."""

    def __init__(self, cin, cout, k, cs, cw):
        super().__init__()
        self.shape = (cout, cin, k, k, k)
        self.P = nn.Parameter(torch.randn(cw, cout * cin * k**3) * (2.0 / (cin * k**3 * cw)) ** 0.5)
        self.B = nn.Parameter(torch.zeros(cw, cout))
        self.f = nn.Linear(cs, cw)
        self.g = nn.Linear(cs, cw)

    def forward(self, x, s):
        return F.conv3d(x, (self.f(s) @ self.P).view(self.shape), (self.g(s) @ self.B).view(-1))


class HyperRes(nn.Module):
    def __init__(self, c, cs, cw):
        super().__init__()
        self.a = Hyper(c, c, 3, cs, cw)
        self.b = Hyper(c, c, 3, cs, cw)

    def forward(self, x, s):
        y = lrelu(inorm(self.a(rpad(x, 1), s)))
        return x + inorm(self.b(rpad(y, 1), s))


class Lstm(nn.Module):
    """A stack of 3D ConvLSTM layers over a list of time points (zero initial state)."""

    def __init__(self, c, layers=3):
        super().__init__()
        self.wx = nn.ModuleList([nn.Conv3d(c, 4 * c, 3, padding=1) for _ in range(layers)])
        self.wh = nn.ModuleList([nn.Conv3d(c, 4 * c, 3, padding=1, bias=False) for _ in range(layers)])

    def forward(self, xs):
        for wx, wh in zip(self.wx, self.wh):
            h = c = None
            outs = []
            for x in xs:
                z = wx(x) if h is None else wx(x) + wh(h)
                i, f, o, g = torch.chunk(z, 4, dim=1)
                i, o, g = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(g)
                c = i * g if c is None else torch.sigmoid(f) * c + i * g
                h = o * torch.tanh(c)
                outs.append(h)
            xs = outs
        return xs


class Generator3d(nn.Module):
    def __init__(self, cenc=(16, 32, 64), cdec=(32, 16), nres=2, cs=8, cw=8):
        super().__init__()
        self.enc = nn.ModuleList()
        prev = 1
        for c, k, s in zip(cenc, (7, 3, 3), (1, 2, 2)):
            self.enc.append(Conv(prev, c, k, s))
            prev = c
        self.enc_res = nn.Sequential(*[Res(prev) for _ in range(nres)])
        self.fuse = Lstm(prev)
        self.declstm = Lstm(prev)
        self.style = nn.Linear(cs, cs)
        self.cs = cs
        self.dec_res = nn.ModuleList([HyperRes(prev, cs, cw) for _ in range(nres)])
        self.up = nn.ModuleList()
        for c in cdec:
            self.up.append(Hyper(prev, c, 3, cs, cw))
            prev = c
        self.last = Hyper(prev, 1, 7, cs, cw)

    def encode(self, x):  # x [B, T, 1, D, H, W]
        b, t = x.shape[:2]
        h = x.reshape(b * t, *x.shape[2:])
        for blk in self.enc:
            h = blk(h)
        h = self.enc_res(h).reshape(b, t, *h.shape[1:])
        return torch.stack(self.fuse([h[:, i] for i in range(t)]), 1).mean(1)

    def decode(self, feat, code, nout=1):
        s = lrelu(self.style(F.one_hot(torch.tensor([code]), self.cs).float()))
        h = torch.stack(self.declstm([feat] * nout), 1)
        b = h.shape[0]
        h = h.reshape(b * nout, *h.shape[2:])
        for r in self.dec_res:
            h = r(h, s)
        for conv in self.up:
            h = F.interpolate(h, scale_factor=2, mode="trilinear", align_corners=False)
            h = lrelu(inorm(conv(rpad(h, 1), s)))
        h = torch.tanh(self.last(rpad(h, 3), s))
        return h.reshape(b, nout, *h.shape[1:])


def ssim3d(y, x, win=7):
    y = y.flatten(0, 1)
    x = x.flatten(0, 1)
    pool = lambda t: F.avg_pool3d(t, win, 1)
    n = win**3
    cov = n / (n - 1)
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2
    ux, uy = pool(x), pool(y)
    vx = (pool(x * x) - ux * ux) * cov
    vy = (pool(y * y) - uy * uy) * cov
    vxy = (pool(x * y) - ux * uy) * cov
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean()


def step(g, opt, xs, xt, cs_, ct):
    opt.zero_grad(set_to_none=True)
    feat = g.encode(xs)
    yt = g.decode(feat, ct)
    ys = g.decode(feat, cs_)
    yc = g.decode(g.encode(yt), cs_)
    l1 = F.smooth_l1_loss
    struct = (1 - ssim3d(yt, xt)) + (1 - ssim3d(ys, xs))
    loss = 10 * (l1(yt, xt) + l1(ys, xs)) + 10 * l1(yc, xs) + 0.01 * struct
    loss.backward()
    opt.step()
    return loss.item()


def build(case, args=None):
    size = int(case)
    torch.manual_seed(0)
    g = Generator3d()
    opt = torch.optim.Adam(g.parameters(), lr=2e-4)
    xs = torch.rand(1, 1, 1, size, size, size) * 2 - 1
    xt = torch.rand(1, 1, 1, size, size, size) * 2 - 1
    return lambda: step(g, opt, xs, xt, 0, 2)
