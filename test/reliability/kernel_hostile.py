"""Hostile traffic against the "mriseq (TypeScript)" kernel (kernel/launcher.js), with jupyter_client:
a message signed with the wrong key is dropped and logged, an unknown request type is answered with
an error reply, an exception inside a display helper comes back as an error reply, an interrupt
stops a long loop; after each the kernel still executes code. Prints one JSON line of results."""
import json
import os
import sys
import time

from jupyter_client import KernelManager
from jupyter_client.session import Session

stderr_path = sys.argv[1]
results = {}

km = KernelManager(kernel_name="mriseq")
with open(stderr_path, "w") as err:
    km.start_kernel(stderr=err, cwd=os.getcwd())
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)


def shell_reply(msg_id, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            m = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        except Exception:
            return None
        if m["parent_header"].get("msg_id") == msg_id:
            return m
    return None


def run(code, timeout=60):
    msg_id = kc.execute(code)
    r = shell_reply(msg_id, timeout)
    return r["content"] if r else None


def result_of(code, timeout=60):
    """The execute_result text/plain of a cell (None if it failed or showed nothing)."""
    msg_id = kc.execute(code)
    r = shell_reply(msg_id, timeout)
    if not r or r["content"]["status"] != "ok":
        return None
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            m = kc.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_result":
            return m["content"]["data"].get("text/plain")
    return None


def alive():
    return result_of("6 * 7") == "42"


# 1. bad signature: same session, wrong key
bad = Session(key=b"not-the-key", session=kc.session.session)
msg = bad.msg("execute_request", {"code": "globalThis.__pwned = 1", "silent": False, "store_history": True,
                                  "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
bad.send(kc.shell_channel.socket, msg)
results["bad_signature_reply"] = shell_reply(msg["header"]["msg_id"], 5) is not None
results["bad_signature_not_run"] = result_of("typeof (globalThis as any).__pwned")
results["alive_after_bad_signature"] = alive()

# 2. unknown message type
m = kc.session.msg("frobnicate_request", {})
kc.shell_channel.send(m)
r = shell_reply(m["header"]["msg_id"], 20)
results["unknown_reply_type"] = r["msg_type"] if r else None
results["unknown_reply_status"] = r["content"].get("status") if r else None
results["alive_after_unknown"] = alive()

# 3. an exception thrown inside a display helper
c = run("import { volumeView } from 'mriseq';\nvolumeView(null as never);", timeout=120)
results["display_helper_status"] = c["status"] if c else None
results["display_helper_ename"] = c.get("ename") if c else None
results["alive_after_display_error"] = alive()

# 4. interrupt during a long loop (awaiting each step, as a training loop does)
msg_id = kc.execute("let step = 0;\nfor (;;) { step++; await new Promise((r) => setTimeout(r, 5)); }")
time.sleep(3)
km.interrupt_kernel()
r = shell_reply(msg_id, 30)
results["interrupt_status"] = r["content"]["status"] if r else None
time.sleep(0.5)
results["alive_after_interrupt"] = alive()

kc.stop_channels()
km.shutdown_kernel(now=True)
with open(stderr_path) as f:
    results["stderr"] = f.read()[-4000:]
print(json.dumps(results))
