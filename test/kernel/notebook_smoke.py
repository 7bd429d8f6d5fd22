"""Executes small notebooks on the mriseq kernel through nbclient and through papermill with the
TypeScript parameter translator (python/mriseq_papermill.py), and checks what came out.

Run by test/kernel/kernel.test.ts with JUPYTER_PATH pointing at the installed kernelspec and the
working directory outside the checkout.
"""
import base64
import os
import sys
import tempfile
import unittest

import nbformat
from nbclient import NotebookClient

ROOT = os.environ["MRISEQ_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "python"))
import mriseq_papermill  # noqa: E402  (registers the translator)

KERNEL = os.environ.get("MRISEQ_KERNEL_NAME", "mriseq")


def notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "mriseq (TypeScript)", "language": "typescript"}
    nb.metadata["language_info"] = {"name": "typescript"}
    for src, tags in cells:
        c = nbformat.v4.new_code_cell(src)
        if tags:
            c.metadata["tags"] = tags
        nb.cells.append(c)
    return nb


CELLS = [
    ("const n = 3;", ["parameters"]),
    (
        "import { display, htmlTable, progressBar } from 'mriseq';\n"
        "const bar = progressBar(n, { label: 'steps', throttleMs: 0 });\n"
        "for (let i = 0; i < n; i++) bar.tick();\n"
        "bar.done('finished');",
        None,
    ),
    (
        "display({ data: [{ type: 'scatter', x: [1, 2], y: [n, n * 2] }], layout: { title: { text: 'smoke' } } });",
        None,
    ),
    ("htmlTable([{ a: n, b: 'x' }])", None),
    ("console.log('n=' + n);", None),
]


SHOW_FIGURE = (
    "import { showFigure, rocFigure, rocCurve, closeFigureExporter } from 'mriseq';\n"
    "await showFigure(rocFigure([rocCurve([0.1, 0.8, 0.4], [0, 1, 1], 'm')]));\n"
    "await closeFigureExporter();",
    None,
)


def outputs_of(nb, i):
    return nb.cells[i].outputs


class NotebookSmoke(unittest.TestCase):
    def check(self, nb, n):
        # progress bar: one display, updated in place to its final state
        prog = [o for o in outputs_of(nb, 1) if o.output_type == "display_data"]
        self.assertEqual(len(prog), 1, outputs_of(nb, 1))
        self.assertIn(f"100% {n}/{n}", prog[0].data["text/plain"])
        self.assertIn("finished", prog[0].data["text/plain"])
        # plotly JSON arrives as a JSON object, not a string
        fig = [o for o in outputs_of(nb, 2) if o.output_type == "display_data"]
        self.assertEqual(len(fig), 1)
        # display(...) as a cell's last line shows once: no echo of the handle as a result
        self.assertEqual([o for o in outputs_of(nb, 2) if o.output_type == "execute_result"], [])
        spec = fig[0].data["application/vnd.plotly.v1+json"]
        self.assertIsInstance(spec, dict)
        self.assertEqual(spec["data"][0]["y"], [n, 2 * n])
        self.assertEqual(spec["layout"]["title"]["text"], "smoke")
        # last expression: a rich execute_result
        res = [o for o in outputs_of(nb, 3) if o.output_type == "execute_result"]
        self.assertEqual(len(res), 1)
        self.assertIn(f">{n}<", res[0].data["text/html"])
        self.assertIn("text/plain", res[0].data)
        out = "".join(o.text for o in outputs_of(nb, 4) if o.output_type == "stream")
        self.assertIn(f"n={n}", out)

    def test_nbclient(self):
        # one extra cell: plotly JSON + PNG + inline SVG + text in one display_data, the static
        # parts rendered by headless Chromium from inside the kernel
        nb = notebook(CELLS + [SHOW_FIGURE])
        NotebookClient(nb, timeout=180, kernel_name=KERNEL, resources={"metadata": {"path": os.getcwd()}}).execute()
        self.check(nb, 3)
        outs = [o for o in nb.cells[-1].outputs if o.output_type == "display_data"]
        self.assertEqual(len(outs), 1, nb.cells[-1].outputs)
        d = outs[0].data
        self.assertIsInstance(d["application/vnd.plotly.v1+json"], dict)
        self.assertTrue(base64.b64decode(d["image/png"]).startswith(b"\x89PNG"))
        self.assertIn("<svg", d["text/html"])
        self.assertIn("plotly figure", d["text/plain"])

    def test_papermill_typescript_parameters(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in.ipynb")
            dst = os.path.join(d, "out.ipynb")
            nbformat.write(notebook(CELLS), src)
            mriseq_papermill.execute_notebook(
                src, dst, parameters={"n": 7, "label": 'a "quoted" name', "opts": {"k": [1, None]}},
                kernel_name=KERNEL, progress_bar=False, cwd=os.getcwd(),
            )
            out = nbformat.read(dst, as_version=4)
            injected = out.cells[1]
            self.assertIn("injected-parameters", injected.metadata.get("tags", []))
            self.assertIn("const n = 7;", injected.source)
            self.assertIn('const label = "a \\"quoted\\" name";', injected.source)
            self.assertIn('const opts = {"k": [1, null]};', injected.source)
            # the injected cell ran (no error output) and later cells saw n = 7
            self.assertFalse([o for o in injected.outputs if o.output_type == "error"])
            shifted = nbformat.v4.new_notebook()
            shifted.cells = [out.cells[0]] + out.cells[2:]
            self.check(shifted, 7)

    def test_translator_inspect(self):
        cell = nbformat.v4.new_code_cell("const steps: number = 20; // training steps\nlet name = 'x';")
        params = mriseq_papermill.TypeScriptTranslator.inspect(cell)
        self.assertEqual([p.name for p in params], ["steps", "name"])
        self.assertEqual(params[0].inferred_type_name, "number")
        self.assertEqual(params[0].help, "training steps")


if __name__ == "__main__":
    unittest.main(verbosity=2)
