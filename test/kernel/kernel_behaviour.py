"""What an IPython user expects of the "mriseq (TypeScript)" kernel, through jupyter_client:
TypeScript cells that tslab alone gets wrong, tracebacks that name cell lines, rich results
(tensors, figures with a static fallback), comms both ways, and an interrupt that stops training
at its next step with the run lock released.

Run by test/kernel/kernel.test.ts with the project's .venv python, JUPYTER_PATH pointing at a
temporary prefix where the kernelspec was installed, and the working directory outside the checkout.
"""
import base64
import os
import struct
import tempfile
import time
import unittest
import zlib

from jupyter_client.manager import start_new_kernel

KERNEL = os.environ.get("MRISEQ_KERNEL_NAME", "mriseq")


def png_pixels(b64):
    """(width, height, channels, rows) of a PNG written with filter 0 (mriseq's encoder), read here
    with zlib and struct only: an independent decoder."""
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", raw[:8]
    pos, idat, w, h, ch = 8, b"", 0, 0, 0
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        body = raw[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            ch = {0: 1, 2: 3, 6: 4}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    data = zlib.decompress(idat)
    stride = w * ch
    rows = []
    for y in range(h):
        line = data[y * (stride + 1) : (y + 1) * (stride + 1)]
        assert line[0] == 0, "filter type 0 expected"
        rows.append(line[1:])
    return w, h, ch, rows


class KernelBehaviour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL)
        cls.tmp = tempfile.mkdtemp(prefix="mriseq-kbehave-")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    # -- helpers ----------------------------------------------------------------------------

    def run_cell(self, code, timeout=120):
        """(reply content, [iopub messages of this request until idle])."""
        msg_id = self.kc.execute(code)
        reply = self.shell_reply(msg_id, timeout)
        out = []
        while True:
            m = self.kc.get_iopub_msg(timeout=timeout)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            out.append(m)
        return reply["content"], out

    def shell_reply(self, msg_id, timeout):
        deadline = time.time() + timeout
        while True:
            m = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
            if m["parent_header"].get("msg_id") == msg_id:
                return m

    def result(self, code):
        content, out = self.run_cell(code)
        self.assertEqual(content["status"], "ok", content)
        res = [m for m in out if m["msg_type"] == "execute_result"]
        self.assertEqual(len(res), 1, out)
        return res[0]["content"]["data"]

    def error(self, code):
        content, out = self.run_cell(code)
        self.assertEqual(content["status"], "error", content)
        errs = [m["content"] for m in out if m["msg_type"] == "error"]
        self.assertEqual(len(errs), 1, out)
        return errs[0]

    def iopub_until(self, pred, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=0.5)
            except Exception:
                continue
            if pred(m):
                return m
        self.fail("expected IOPub message did not arrive")

    def send_shell(self, msg_type, content):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    # -- TypeScript cells -------------------------------------------------------------------

    def test_await_of_an_async_iife(self):
        self.assertEqual(self.result("await (async () => 1)()")["text/plain"], "1")
        self.assertEqual(self.result("const w = await (async () => 20)(); w + 1")["text/plain"], "21")

    def test_shorthand_property_of_an_earlier_cells_variable(self):
        self.run_cell("const seed = 7;")
        self.assertEqual(self.result("const o = { seed, two: 2 }; o.seed * o.two")["text/plain"], "14")
        self.assertEqual(self.result("({ seed })")["text/plain"], "{ seed: 7 }")

    def test_a_throwing_cell_keeps_what_it_declared_before_the_throw(self):
        self.run_cell("const before = 1;")
        e = self.error("const kept = 5;\nlet also = 'xy';\nthrow new Error('midway');\nconst lost = 1;\nconst before = 'str';")
        self.assertEqual(e["ename"], "Error")
        self.assertEqual(self.result("kept + also.length")["text/plain"], "7")
        # declared after the throw: unknown, as in Python (NameError), not `undefined`
        self.assertIn("Cannot find name 'lost'", self.error("lost")["evalue"])
        # a name the cell meant to redeclare keeps its earlier type and value
        self.assertEqual(self.result("before + 1")["text/plain"], "2")

    # -- tracebacks -------------------------------------------------------------------------

    def assert_no_kernel_frames(self, tb):
        text = "\n".join(tb)
        for marker in ("/kernel/", "tslab", "<cell-", "node:internal", "evalmachine"):
            self.assertNotIn(marker, text)

    def test_an_error_on_cell_line_2_reports_line_2(self):
        e = self.error("const x = 1;\n(null as any).foo;\nconst y = 2;")
        self.assertEqual(e["ename"], "TypeError")
        frames = [l for l in e["traceback"] if l.strip().startswith("at ")]
        self.assertTrue(frames, e["traceback"])
        self.assertRegex(frames[0], r"Cell In\[\d+\]:2:\d+")
        self.assertIn("--->   2 (null as any).foo;", "\n".join(e["traceback"]))
        self.assert_no_kernel_frames(e["traceback"])

    def test_frames_of_earlier_cells_and_after_await_map_to_their_lines(self):
        self.run_cell("function inner(v: number) {\n  if (v > 0)\n    throw new RangeError('too big: ' + v);\n  return v;\n}")
        e = self.error("await new Promise((r) => setTimeout(r, 10));\n\ninner(3);")
        tb = "\n".join(e["traceback"])
        self.assertEqual(e["ename"], "RangeError")
        self.assertRegex(tb, r"at inner \(Cell In\[\d+\]:3:\d+\)")
        self.assertRegex(tb, r"Cell In\[\d+\]:3:1")
        self.assert_no_kernel_frames(e["traceback"])

    def test_mriseq_frames_name_its_typescript_source(self):
        e = self.error("import { readNifti } from 'mriseq';\nawait readNifti('/no/such/file.nii');")
        self.assertEqual(e["ename"], "MriseqError")
        tb = "\n".join(e["traceback"])
        self.assertRegex(tb, r"at async readNifti \(.*/src/io/nifti\.ts:\d+:\d+\)")
        self.assertRegex(tb, r"at async Cell In\[\d+\]:2:1")
        self.assert_no_kernel_frames(e["traceback"])

    def test_type_errors_name_the_cell_line(self):
        e = self.error("const ok = 1;\nconst bad: number = 'text';")
        self.assertEqual(e["ename"], "TypeScriptError")
        self.assertIn("line 2", "\n".join(e["traceback"]))

    # -- rich results -----------------------------------------------------------------------

    def test_inspecting_an_mriseq_function_shows_its_api_doc(self):
        # Shift-Tab / the contextual help in JupyterLab: the same doc comment docs/api renders.
        content, _ = self.run_cell("import { rankSequences } from 'mriseq';")
        self.assertEqual(content["status"], "ok", content)
        code = "rankSequences"
        msg_id = self.kc.inspect(code, len(code))
        reply = self.shell_reply(msg_id, 60)["content"]
        self.assertEqual(reply["status"], "ok", reply)
        self.assertTrue(reply["found"], reply)
        text = reply["data"]["text/plain"]
        self.assertIn("rankSequences", text)
        # its description and its example, from src/analysis/contribution.ts
        self.assertIn("C_t", text)
        self.assertRegex(text, r"(?s)@example\s*```ts.*rankSequences\(", "the @example is shown")
        # tags keep their names, {@link X} reads as X
        self.assertIn("@throws MriseqError", text)
        self.assertNotIn("{@link", text)
        md = reply["data"]["text/markdown"]
        self.assertIn("```ts", md)

    def test_a_tensor_shows_shape_dtype_values_and_an_image(self):
        data = self.result("import { tf } from 'mriseq';\ntf.tensor2d([[0, 1, 2], [3, 4, 5]])")
        text = data["text/plain"]
        self.assertTrue(text.startswith("Tensor float32 [2, 3]"), text)
        self.assertIn("min 0, max 5", text)
        self.assertIn("[[0, 1, 2],", text)
        self.assertIn("<b>Tensor float32 [2, 3]</b>", data["text/html"])
        w, h, ch, rows = png_pixels(data["image/png"])
        # upscaled by a whole factor so the long side reaches 96 px: 3 -> 96, 2 -> 64
        self.assertEqual((w, h, ch), (96, 64, 1))
        f = 32
        for y, x, v in [(0, 0, 0), (0, 2, 2), (1, 0, 3), (1, 2, 5)]:
            self.assertEqual(rows[y * f][x * f], round(v * 255 / 5), (y, x))

    def test_a_disposed_tensor_says_so(self):
        self.assertIn("(disposed)", self.result("import { tf as tfd } from 'mriseq';\nconst t = tfd.ones([2]); t.dispose(); t")["text/plain"])

    @unittest.skipUnless(os.path.exists(os.environ.get("MRISEQ_CHROMIUM", "/usr/bin/chromium")), "no Chromium")
    def test_figures_carry_a_static_png(self):
        fig = "{ data: [{ type: 'scatter', x: [1, 2, 3], y: [2, 1, 3] }], layout: { title: { text: 'f' } } }"
        data = self.result(f"({fig})")
        self.assertIn("application/vnd.plotly.v1+json", data)
        raw = base64.b64decode(data["image/png"])
        self.assertEqual(raw[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", raw[16:24]), (800, 500))  # IHDR width, height
        self.assertIn("<svg", data["text/html"])
        # display(fig): shown at once, then updated with the PNG before the cell's reply
        content, out = self.run_cell(f"import {{ display }} from 'mriseq';\ndisplay({fig});")
        self.assertEqual(content["status"], "ok")
        kinds = [m["msg_type"] for m in out]
        self.assertIn("display_data", kinds)
        updates = [m for m in out if m["msg_type"] == "update_display_data"]
        self.assertTrue(updates and "image/png" in updates[-1]["content"]["data"], kinds)

    # -- comms ------------------------------------------------------------------------------

    def test_comms_both_ways(self):
        content, _ = self.run_cell(
            "import { kernelComms } from 'mriseq';\n"
            "const comms = kernelComms()!;\n"
            "const got: unknown[] = [];\n"
            "comms.registerTarget('test.echo', (comm, open) => {\n"
            "  comm.send({ opened: open.data });\n"
            "  comm.onMsg((m) => comm.send({ echo: m.data }));\n"
            "  comm.onClose(() => got.push('closed'));\n"
            "});"
        )
        self.assertEqual(content["status"], "ok", content)
        # front end -> kernel target
        self.send_shell("comm_open", {"comm_id": "c-echo", "target_name": "test.echo", "data": {"a": 1}})
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "c-echo")
        self.assertEqual(m["content"]["data"], {"opened": {"a": 1}})
        self.send_shell("comm_msg", {"comm_id": "c-echo", "data": {"x": 2}})
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "c-echo")
        self.assertEqual(m["content"]["data"], {"echo": {"x": 2}})
        mid = self.send_shell("comm_info_request", {"target_name": "test.echo"})
        info = self.shell_reply(mid, 20)["content"]
        self.assertEqual(info["comms"], {"c-echo": {"target_name": "test.echo"}})
        self.send_shell("comm_close", {"comm_id": "c-echo", "data": {}})
        time.sleep(0.3)
        self.assertEqual(self.result("got")["text/plain"], "[ 'closed' ]")
        mid = self.send_shell("comm_info_request", {})
        self.assertNotIn("c-echo", self.shell_reply(mid, 20)["content"]["comms"])
        # an unknown target: closed at once, as ipykernel does
        self.send_shell("comm_open", {"comm_id": "c-nope", "target_name": "no.such.target", "data": {}})
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_close" and m["content"]["comm_id"] == "c-nope")
        self.assertIn("no.such.target", m["content"]["data"]["error"])
        # kernel -> front-end target
        msg_id = self.kc.execute(
            "const fromClient: unknown[] = [];\n"
            "const mine = comms.open('client.target', { hello: 1 });\n"
            "mine.onMsg((m) => fromClient.push(m.data));"
        )
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_open")
        self.assertEqual(m["content"]["target_name"], "client.target")
        self.assertEqual(m["content"]["data"], {"hello": 1})
        self.assertEqual(m["parent_header"]["msg_id"], msg_id)
        cid = m["content"]["comm_id"]
        self.shell_reply(msg_id, 30)
        self.send_shell("comm_msg", {"comm_id": cid, "data": {"clicked": [1, 2, 3]}})
        time.sleep(0.3)
        self.assertEqual(self.result("JSON.stringify(fromClient)")["text/plain"], "'[{\"clicked\":[1,2,3]}]'")
        mid = self.send_shell("comm_info_request", {"target_name": "client.target"})
        self.assertEqual(self.shell_reply(mid, 20)["content"]["comms"], {cid: {"target_name": "client.target"}})

    def test_a_volume_viewer_is_live_through_its_comm(self):
        content, out = self.run_cell(
            "import { createVolume, volumeViewer, display, VOLUME_MIME } from 'mriseq';\n"
            "const d = new Float32Array(8 * 6 * 4).map((_, i) => i);\n"
            "const md = createVolume(d.map((v) => v / 1000), [8, 6, 4]);\n"
            "const viewer = volumeViewer({ real: createVolume(d, [8, 6, 4]) }, { overlay: { M_d: md }, dtype: 'float32' });\n"
            "const clicks: unknown[] = [];\n"
            "viewer.onClick((c) => clicks.push(c));\n"
            "display(viewer);"
        )
        self.assertEqual(content["status"], "ok", content)
        shown = [m for m in out if m["msg_type"] == "display_data"][0]["content"]["data"]
        payload = shown["application/vnd.mriseq.volume+json"]
        spec = payload["comm"]
        self.assertEqual(spec["target"], "mriseq.viewer")
        # what JupyterLab's viewer does: open a comm naming the viewer, then click a voxel
        self.send_shell("comm_open", {"comm_id": "v1", "target_name": "mriseq.viewer", "data": {"viewer": spec["viewer"]}})
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "v1")
        self.assertEqual(m["content"]["data"], {"event": "ready"})
        self.send_shell("comm_msg", {"comm_id": "v1", "data": {"event": "click", "voxel": [3, 2, 1]}})
        m = self.iopub_until(lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "v1")
        i = 3 + 8 * (2 + 6 * 1)
        values = m["content"]["data"]["values"]
        self.assertEqual(values["real"], i)
        self.assertAlmostEqual(values["M_d"], i / 1000, places=6)  # float32
        click = self.result("JSON.stringify(clicks[0])")["text/plain"]
        self.assertIn('"voxel":[3,2,1]', click)
        # the kernel updates the shown viewer in place
        content, out = self.run_cell("viewer.update({ real: createVolume(d.map((v) => 2 * v), [8, 6, 4]) });")
        msgs = [m for m in out if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "v1"]
        self.assertEqual(len(msgs), 1, out)
        upd = msgs[0]["content"]["data"]
        self.assertEqual(upd["event"], "update")
        self.assertEqual(upd["layers"][0]["index"], 0)
        vals = struct.unpack("<%df" % (8 * 6 * 4), base64.b64decode(upd["layers"][0]["layer"]["data"]))
        self.assertEqual(vals[i], 2 * i)

    # -- interrupt --------------------------------------------------------------------------

    def test_interrupt_stops_training_within_one_step_and_releases_the_lock(self):
        out = os.path.join(self.tmp, "run")
        progress = os.path.join(self.tmp, "progress.txt")
        content, _ = self.run_cell(
            "import * as fs from 'fs';\n"
            "import { phantom, trainRun, loadCheckpoint, acquireRunLock, LOCK_FILE } from 'mriseq';\n"
            "const subj = phantom({ subjects: 1, size: [24, 24, 8], seed: 3 }).subject(0);\n"
            "const tiny = { cEnc: [8, 16, 32], cLstm: 32, cDec: [16, 8, 1], nresEnc: 1, nresDec: 1 };\n"
            f"const out = {out!r};\n"
            f"const progress = {progress!r};"
        )
        self.assertEqual(content["status"], "ok", content)
        chromium = os.path.exists(os.environ.get("MRISEQ_CHROMIUM", "/usr/bin/chromium"))
        fig = "({ data: [{ type: 'bar', x: ['a'], y: [1] }], layout: {} })"
        if chromium:
            # a figure first: its headless Chromium lives in the kernel's process group, which the
            # interrupt signals too (playwright's own Ctrl-C handler used to exit the kernel)
            self.assertIn("image/png", self.result(fig))
        msg_id = self.kc.execute(
            "const r = await trainRun([{ id: subj.id, volumes: subj.volumes }], {\n"
            "  out, steps: 5000, crop: 16, seed: 1, checkpointEvery: 100000, modelOverrides: tiny,\n"
            "  onProgress: (e) => fs.writeFileSync(progress, String(e.step)),\n"
            "});"
        )
        step = lambda: int(open(progress).read() or 0) if os.path.exists(progress) else 0
        deadline = time.time() + 120
        while step() < 3 and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(step(), 3, "training did not start")
        at_interrupt = step()
        t0 = time.time()
        self.km.interrupt_kernel()
        reply = self.shell_reply(msg_id, 60)["content"]
        waited = time.time() - t0
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertIn("stopped", reply["evalue"])
        self.assert_no_kernel_frames(reply["traceback"])
        final = step()
        self.assertLessEqual(final - at_interrupt, 1, f"steps after the interrupt: {at_interrupt} -> {final}")
        # no training output afterwards, a checkpoint of the step it stopped at, the lock released
        time.sleep(0.5)
        self.assertEqual(step(), final)
        self.assertEqual(self.result("loadCheckpoint(out, 'last').state!.step")["text/plain"], str(final))
        self.assertEqual(self.result("fs.existsSync(out + '/' + LOCK_FILE)")["text/plain"], "false")
        self.assertEqual(self.result("acquireRunLock(out).release(); 'locked and released'")["text/plain"], "'locked and released'")
        if chromium:
            self.assertIn("image/png", self.result(fig), "figures still get their PNG after an interrupt")
        print(f"\n# interrupt: training stopped at step {final} ({final - at_interrupt} after the interrupt), "
              f"cell answered {waited:.2f} s after the interrupt", flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
