"""PyTorch twin of mriseq's Seq2Seq generator (lite preset) for bench/generator.bench.ts.

Written from the science spec, like src/model: encoder (reflect pad + conv + InstanceNorm +
LeakyReLU 0.2, residual blocks), 3-layer ConvLSTM fusion averaged over t, 3-layer ConvLSTM
decoder, hyper-convolution residual blocks and up stages (bilinear x2, align_corners=False),
last hyper-conv k7 + tanh. One step = encode x_s once, decode to t and s, cycle G(y_t, s),
10*(SmoothL1 + SmoothL1) + 10*SmoothL1 + 0.01*(1-SSIM) structural over y_t and y_s, backward, Adam.
`build(size)` returns a function running one step, for bench/torch/server.py (which times it);
`build('3d:N')` the same step of the 3D variant (Conv3d, trilinear, a 7x7x7 SSIM window) on an N^3
patch, for bench/generator3d.bench.ts; bench/gpu/torch_cuda.py uses Generator and step on CUDA.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def inorm(x):
    return F.instance_norm(x, eps=1e-5)


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, act=True, nd=2):
        super().__init__()
        conv = nn.Conv2d if nd == 2 else nn.Conv3d
        self.conv = conv(cin, cout, k, stride=stride, padding=(k - 1) // 2, padding_mode="reflect")
        self.act = act

    def forward(self, x):
        y = inorm(self.conv(x))
        return lrelu(y) if self.act else y


class Res(nn.Module):
    def __init__(self, c, nd=2):
        super().__init__()
        self.a = ConvBlock(c, c, 3, 1, nd=nd)
        self.b = ConvBlock(c, c, 3, 1, act=False, nd=nd)

    def forward(self, x):
        return x + self.b(self.a(x))


class HyperConv(nn.Module):
    def __init__(self, cin, cout, k, cs, cw, nd=2):
        super().__init__()
        self.shape = (cout, cin) + (k,) * nd
        self.P = nn.Parameter(torch.randn(cw, cout * cin * k**nd) * (2.0 / (cin * k**nd * cw)) ** 0.5)
        self.B = nn.Parameter(torch.zeros(cw, cout))
        self.f = nn.Linear(cs, cw)
        self.g = nn.Linear(cs, cw)
        self.k = k
        self.conv = F.conv2d if nd == 2 else F.conv3d

    def forward(self, x, s):
        w = (self.f(s) @ self.P).view(self.shape)
        b = (self.g(s) @ self.B).view(-1)
        return self.conv(x, w, b)


class HyperRes(nn.Module):
    def __init__(self, c, cs, cw, nd=2):
        super().__init__()
        self.a = HyperConv(c, c, 3, cs, cw, nd)
        self.b = HyperConv(c, c, 3, cs, cw, nd)
        self.nd = nd

    def forward(self, x, s):
        y = lrelu(inorm(self.a(F.pad(x, [1] * 2 * self.nd, mode="reflect"), s)))
        return x + inorm(self.b(F.pad(y, [1] * 2 * self.nd, mode="reflect"), s))


class ConvLSTM(nn.Module):
    def __init__(self, c, layers=3, nd=2):
        super().__init__()
        conv = nn.Conv2d if nd == 2 else nn.Conv3d
        self.wx = nn.ModuleList([conv(c, 4 * c, 3, padding=1) for _ in range(layers)])
        self.wh = nn.ModuleList([conv(c, 4 * c, 3, padding=1, bias=False) for _ in range(layers)])

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


class Generator(nn.Module):
    """nd = 2: images [B, T, C, H, W] (bilinear); nd = 3: volumes [B, T, C, D, H, W] (trilinear)."""

    def __init__(self, cin=1, cenc=(16, 32, 64), cdec=(32, 16), nres=2, cs=8, cw=8, nd=2):
        super().__init__()
        self.enc = nn.ModuleList()
        prev = cin
        for c, k, s in zip(cenc, (7, 3, 3), (1, 2, 2)):
            self.enc.append(ConvBlock(prev, c, k, s, nd=nd))
            prev = c
        self.enc_res = nn.Sequential(*[Res(prev, nd) for _ in range(nres)])
        self.fuse = ConvLSTM(prev, nd=nd)
        self.declstm = ConvLSTM(prev, nd=nd)
        self.style = nn.Linear(cs, cs)
        self.cs = cs
        self.dec_res = nn.ModuleList([HyperRes(prev, cs, cw, nd) for _ in range(nres)])
        self.up = nn.ModuleList()
        for c in cdec:
            self.up.append(HyperConv(prev, c, 3, cs, cw, nd))
            prev = c
        self.last = HyperConv(prev, cin, 7, cs, cw, nd)
        self.nd = nd

    def encode(self, x):  # x [B, T, C, H, W] (or [B, T, C, D, H, W])
        b, t = x.shape[:2]
        h = x.reshape(b * t, *x.shape[2:])
        for blk in self.enc:
            h = blk(h)
        h = self.enc_res(h)
        h = h.reshape(b, t, *h.shape[1:])
        outs = self.fuse([h[:, i] for i in range(t)])
        return torch.stack(outs, 1).mean(1)

    def decode(self, feat, code, nout=1):
        s = lrelu(self.style(F.one_hot(torch.tensor([code]), self.cs).float()))
        h = self.declstm([feat] * nout)
        h = torch.stack(h, 1)
        b = h.shape[0]
        h = h.reshape(b * nout, *h.shape[2:])
        for r in self.dec_res:
            h = r(h, s)
        mode, p = ("bilinear", 2) if self.nd == 2 else ("trilinear", 3)
        for conv in self.up:
            h = F.interpolate(h, scale_factor=2, mode=mode, align_corners=False)
            h = lrelu(inorm(conv(F.pad(h, [1] * 2 * p, mode="reflect"), s)))
        h = torch.tanh(self.last(F.pad(h, [3] * 2 * p, mode="reflect"), s))
        return h.reshape(b, nout, *h.shape[1:])


def ssim(y, x, win=7):
    y = y.flatten(0, 1)
    x = x.flatten(0, 1)
    # images [N, C, H, W] or, for the 3D variant, volumes [N, C, D, H, W]
    pool = lambda t: (F.avg_pool2d if t.dim() == 4 else F.avg_pool3d)(t, win, 1)
    n = win ** (y.dim() - 2)
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
    # the structural term covers y_t and y_s, as the authors' perceptual term (mriseq's default recipe)
    struct = (1 - ssim(yt, xt)) + (1 - ssim(ys, xs))
    loss = 10 * (l1(yt, xt) + l1(ys, xs)) + 10 * l1(yc, xs) + 0.01 * struct
    loss.backward()
    opt.step()
    return loss.item()


def build(case, args=None):
    # '64': a 64x64 image; '3d:32': the 3D variant on a 32^3 patch
    nd, size = (3, int(case[3:])) if case.startswith("3d:") else (2, int(case))
    torch.manual_seed(0)
    g = Generator(nd=nd)
    opt = torch.optim.Adam(g.parameters(), lr=2e-4)
    xs = torch.rand(1, 1, 1, *(size,) * nd) * 2 - 1
    xt = torch.rand(1, 1, 1, *(size,) * nd) * 2 - 1
    return lambda: step(g, opt, xs, xt, 0, 2)

