"""papermill with a TypeScript parameter translator, for notebooks on the mriseq kernel.

papermill 2.7 has no translator for TypeScript and no plug-in entry point for one, so this runner
registers it in-process and then hands over to papermill's own command line:

    .venv/bin/python python/mriseq_papermill.py in.ipynb out.ipynb -p steps 5 -p cohort '"phantom"'

or, from Python, ``import mriseq_papermill; mriseq_papermill.execute_notebook(...)``.

Injected parameters are ``const`` statements (the mriseq kernel, like tslab, lets a later cell
re-declare a ``const``), with values as JSON literals, which are valid TypeScript expressions.
"""
from __future__ import annotations

import json
import math
import re
import sys

from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

_DECL = re.compile(
    r"^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=\s*(.+?);?\s*(?://\s*(.*))?$"
)


class TypeScriptTranslator(Translator):
    @classmethod
    def translate_none(cls, val):
        return "null"

    @classmethod
    def translate_str(cls, val):
        return json.dumps(val)

    @classmethod
    def translate_escaped_str(cls, str_val):
        return json.dumps(str(str_val))

    @classmethod
    def translate_float(cls, val):
        if math.isnan(val):
            return "NaN"
        if math.isinf(val):
            return "Infinity" if val > 0 else "-Infinity"
        return repr(val)

    @classmethod
    def translate_bool(cls, val):
        return "true" if val else "false"

    @classmethod
    def translate_dict(cls, val):
        return json.dumps(val)

    @classmethod
    def translate_list(cls, val):
        return json.dumps(val)

    @classmethod
    def comment(cls, cmt_str):
        return f"// {cmt_str}".strip()

    @classmethod
    def assign(cls, name, str_val):
        return f"const {name} = {str_val};"

    @classmethod
    def inspect(cls, parameters_cell):
        params = []
        for line in parameters_cell.source.splitlines():
            m = _DECL.match(line)
            if not m:
                continue
            name, type_name, default, help_text = m.groups()
            params.append(
                Parameter(
                    name=name,
                    inferred_type_name=(type_name or "None").strip(),
                    default=default.strip(),
                    help=(help_text or "").strip(),
                )
            )
        return params


def register() -> None:
    """Makes papermill translate parameters for TypeScript notebooks (by language and kernel)."""
    for key in ("typescript", "mriseq", "tslab"):
        papermill_translators.register(key, TypeScriptTranslator)


register()


def execute_notebook(*args, **kwargs):
    """papermill.execute_notebook with the TypeScript translator registered."""
    import papermill

    return papermill.execute_notebook(*args, **kwargs)


def main(argv: list[str] | None = None) -> None:
    from papermill.cli import papermill as cli

    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="mriseq_papermill")


if __name__ == "__main__":
    main()
