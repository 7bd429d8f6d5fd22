"""Memory of PyTorch generator steps in a fresh process (bench/step-memory.ts's twin, the same
fields): `python3 step_memory.py <size> [steps] [threads]` prints {baseMB, setupMB, warmMB, peakMB}
(after `import torch`, after setup, after two warm-up steps, highest during the steps after them)."""
import importlib.util
import json
import os
import sys

import torch


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


size = int(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
base = status("VmRSS")
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
for _ in range(steps):
    step()
peak = status("VmHWM")
print(json.dumps({"mode": "torch", "size": size, "steps": steps, "baseMB": base, "setupMB": setup, "warmMB": warm, "peakMB": peak}))
