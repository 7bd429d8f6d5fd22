"""Memory of PyTorch generator steps in a fresh process (bench/step-memory.ts's twin, the same
fields): `python3 step_memory.py <size> [steps] [threads]` prints {baseMB, setupMB, warmMB, peakMB}
(after `import torch`, after setup, after two warm-up steps, highest during the steps after them),
glibc's malloc counters (mallinfo2: in use, freed but kept) at the base and after the steps, and the
minor page faults and system CPU ms per measured step."""
import ctypes
import importlib.util
import json
import os
import sys
import time

import torch


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def mallinfo():
    # the same counters as the binding's mriseqMallinfo: in use = uordblks + hblkhd, kept = fordblks
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return None, None
    return (m.uordblks + m.hblkhd) / 2**20, m.fordblks / 2**20


def minor_faults():
    with open("/proc/self/stat") as f:
        return int(f.read().split(") ")[1].split()[7])


size = int(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
base = status("VmRSS")
base_in_use, base_kept = mallinfo()
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_torch_generator", os.path.join(here, "..", "torch_generator.py"))
tg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tg)
step = tg.build(str(size))
setup = status("VmRSS")
step()
step()
warm = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
f0 = minor_faults()
t0 = os.times()
wall = []
for _ in range(steps):
    w0 = time.perf_counter()
    step()
    wall.append((time.perf_counter() - w0) * 1000)
peak = status("VmHWM")
faults = (minor_faults() - f0) / steps
t1 = os.times()
sys_ms = (t1.system - t0.system) * 1000 / steps
user_ms = (t1.user - t0.user) * 1000 / steps
ms = sorted(wall)[len(wall) // 2]
with open("/proc/self/maps") as f:
    maps = f.read()
allocator = "jemalloc" if "libjemalloc" in maps else "tcmalloc" if "libtcmalloc" in maps else "glibc"
in_use, kept = mallinfo()
print(json.dumps({"mode": "torch", "size": size, "steps": steps, "baseMB": base, "setupMB": setup, "warmMB": warm, "peakMB": peak,
                  "baseInUseMB": base_in_use, "baseKeptMB": base_kept, "inUseMB": in_use, "keptMB": kept,
                  "faultsPerStep": faults, "sysMsPerStep": sys_ms, "userMsPerStep": user_ms, "msPerStep": ms,
                  "allocator": allocator}))
