"""Hostile traffic against the "mriseq (TypeScript)" kernel (kernel/launcher.js), with jupyter_client:
a message signed with the wrong key is dropped and logged, an unknown request type is answered with
an error reply, an exception inside a display helper comes back as an error reply, an interrupt
stops a long loop, correctly signed messages with a null header or null content are refused without
wedging the kernel, and a client signing with hmac-sha512 is answered; after each the kernel still
executes code. Prints one JSON line of results."""
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



def send_raw(header, content, parent=None):
    """A correctly signed message with whatever header and content (JSON text or Python values)."""
    parts = [p if isinstance(p, bytes) else kc.session.pack(p) for p in (header, parent or {}, {}, content)]
    kc.shell_channel.socket.send_multipart([b"<IDS|MSG>", kc.session.sign(parts)] + parts)


def header(msg_type):
    return kc.session.msg_header(msg_type)


# 5. a correctly signed message whose header is null: logged, and the kernel keeps answering
send_raw(None, {})
send_raw([], {})
send_raw({"msg_id": 5, "msg_type": "execute_request"}, {"code": "1"})
results["alive_after_null_header"] = alive()

# 6. execute_request with null (and array) content: an error reply, and later cells still run
h = header("execute_request")
send_raw(h, None)
r = shell_reply(h["msg_id"], 20)
results["null_content_reply"] = [r["msg_type"], r["content"].get("status"), r["content"].get("ename")] if r else None
h = header("execute_request")
send_raw(h, {"code": None})
r = shell_reply(h["msg_id"], 20)
results["null_code_reply"] = [r["msg_type"], r["content"].get("status")] if r else None
h = header("complete_request")
send_raw(h, [])
r = shell_reply(h["msg_id"], 20)
results["array_content_reply"] = [r["msg_type"], r["content"].get("status")] if r else None
h = header("inspect_request")
send_raw(h, {"code": "Math.max", "cursor_pos": 10**6})
r = shell_reply(h["msg_id"], 20)
results["bad_cursor_reply"] = [r["msg_type"], r["content"].get("status")] if r else None
results["alive_after_null_content"] = alive()
results["second_cell_after_null_content"] = result_of("[1, 2, 3].length")

kc.stop_channels()
km.shutdown_kernel(now=True)

# 7. a client that signs with hmac-sha512 (the connection file says so) gets replies
km2 = KernelManager(kernel_name="mriseq")
km2.session.signature_scheme = "hmac-sha512"
with open(stderr_path + ".sha512", "w") as err:
    km2.start_kernel(stderr=err, cwd=os.getcwd())
with open(km2.connection_file) as f:
    results["sha512_connection_scheme"] = json.load(f).get("signature_scheme")
kc2 = km2.client()
kc2.start_channels()
try:
    kc2.wait_for_ready(timeout=60)
    mid = kc2.kernel_info()
    deadline = time.time() + 20
    while time.time() < deadline:
        r = kc2.get_shell_msg(timeout=20)
        if r["parent_header"].get("msg_id") == mid:
            results["sha512_kernel_info"] = r["msg_type"]
            break
    r = kc2.execute_interactive("6 * 7", timeout=60, output_hook=lambda m: None)
    results["sha512_execute"] = r["content"]["status"]
except Exception as e:  # a kernel that cannot check sha512 signatures never answers
    results["sha512_error"] = repr(e)
kc2.stop_channels()
km2.shutdown_kernel(now=True)

with open(stderr_path) as f:
    results["stderr"] = f.read()[-4000:]
print(json.dumps(results))
