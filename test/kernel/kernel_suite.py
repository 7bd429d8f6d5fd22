"""jupyter_kernel_test suite for the "mriseq (TypeScript)" kernel.

Run by test/kernel/kernel.test.ts with the project's .venv python, JUPYTER_PATH pointing at a
temporary prefix where the kernelspec was installed, and the working directory set to a folder
outside the checkout (so `import ... from 'mriseq'` must resolve through the launcher).
"""
import os
import time
import unittest

import jupyter_kernel_test


class MriseqKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("MRISEQ_KERNEL_NAME", "mriseq")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'ab' + 'c'", "result": "'abc'"},
    ]
    code_display_data = [
        # our multi-MIME path, used by mriseq's display helpers
        {
            "code": "import { display, htmlTable } from 'mriseq';\n"
            "display(htmlTable([{ a: 1, b: 2 }]));",
            "mime": "text/html",
        },
        # tslab's own API keeps working
        {"code": "import * as tslab from 'tslab';\ntslab.display.html('<b>x</b>');", "mime": "text/html"},
    ]
    completion_samples = [{"text": "Math.atan", "matches": {"atan", "atan2", "atanh"}}]
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const x = [1,", "/* a comment", "const s = `multi"]
    invalid_code_samples = ["1 +* 2", "}", "const = 3;"]
    # IPython's help syntax: the pager shows TypeScript's quick info (signature and docs).
    code_page_something = "?Math.max"
    code_clear_output = "import { clearOutput } from 'mriseq';\nclearOutput(false);"
    code_inspect_sample = "Math.max"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 *"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # jupyter_kernel_test waits 15 s per reply; on a busy 2-core machine the first cell that
        # type-checks mriseq can take longer, so load it once before the timed tests.
        cls.kc.execute_interactive("import { display } from 'mriseq';", timeout=300, output_hook=lambda m: None)

    def test_interrupt_stops_an_awaiting_cell(self):
        self.flush_channels()
        msg_id = self.kc.execute("await new Promise((r) => setTimeout(r, 120000));")
        time.sleep(2)
        self.km.interrupt_kernel()
        reply = self.get_non_kernel_info_reply(timeout=30)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        # a plain await ignores AbortSignals: the kernel says so instead of waiting for it
        self.assertIn("may still be running", reply["content"]["evalue"])
        # the kernel keeps working afterwards
        time.sleep(0.5)
        self.flush_channels()
        reply, outputs = self.execute_helper("1 + 1")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual([o["content"]["data"]["text/plain"] for o in outputs if o["msg_type"] == "execute_result"], ["2"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
