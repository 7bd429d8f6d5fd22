"""jupyter_kernel_test suite for the "mriseq (TypeScript)" kernel.

Run by test/kernel/kernel.test.ts with the project's .venv python, JUPYTER_PATH pointing at a
temporary prefix where the kernelspec was installed, and the working directory set to a folder
outside the checkout (so `import ... from 'mriseq'` must resolve through the launcher).
"""
import os
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
    incomplete_code_samples = ["function f() {", "const x = [1,"]
    code_inspect_sample = "Math.max"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 *"


if __name__ == "__main__":
    unittest.main(verbosity=2)
