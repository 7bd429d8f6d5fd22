"""A long-lived PyTorch worker for `npm run bench`, so that PyTorch and mriseq repetitions alternate.

On this shared 2-core machine the speed of both sides drifts by 30% or more within a minute;
timing all of mriseq's repetitions and then all of PyTorch's measured that drift as often as any
difference between them. The bench runner (bench/index.ts) instead sets one case up here and asks
for a turn of PyTorch repetitions after each turn of its own, so every ratio compares neighbours in
time.

Protocol, one JSON object per line both ways:
  {"cmd": "setup", "module": path, "case": name, "args": {...}, "warm": n}
      imports the module (once per path), calls its build(case, args) -> a function running one
      repetition, runs it n times untimed; replies {"ok": true}
  {"cmd": "time", "reps": k, "warm": n}   runs n untimed and k timed repetitions; replies {"ms": [...]}
  {"cmd": "info"}              replies {"torch": version, "threads": n, "malloc": "glibc" | "jemalloc" | "tcmalloc"}
Any failure replies {"error": message} and the worker keeps serving.
"""
import importlib.util
import json
import sys
import time
import traceback

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)

modules = {}
current = None


def load(path):
    if path not in modules:
        spec = importlib.util.spec_from_file_location(f"bench_case_{len(modules)}", path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        modules[path] = m
    return modules[path]


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "setup":
            current = None
            f = load(msg["module"]).build(msg["case"], msg.get("args") or {})
            for _ in range(int(msg.get("warm", 2))):
                f()
            current = f
            reply({"ok": True})
        elif cmd == "time":
            if current is None:
                raise RuntimeError("no case set up")
            for _ in range(int(msg.get("warm", 0))):
                current()
            ms = []
            for _ in range(int(msg.get("reps", 1))):
                t0 = time.perf_counter()
                current()
                ms.append((time.perf_counter() - t0) * 1e3)
            reply({"ms": ms})
        elif cmd == "info":
            with open("/proc/self/maps") as f:
                maps = f.read()
            malloc = "jemalloc" if "libjemalloc" in maps else "tcmalloc" if "libtcmalloc" in maps else "glibc"
            reply({"torch": torch.__version__, "threads": torch.get_num_threads(), "malloc": malloc})
        elif cmd == "quit":
            break
        else:
            raise ValueError(f"unknown command {cmd!r}")
    except Exception as e:  # the runner reports it against the workload and goes on
        reply({"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)})
