"""The command modules of this area follow the CLI convention: NAME, HELP, add_arguments, run; plain help."""

import argparse
import ast
import importlib
import sys

import pytest

MODULES = ["gradcam", "info", "demo", "data"]


def all_help(parser):
    """The help of ``parser`` and of every sub-parser below it."""
    texts = [parser.format_help()]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                texts += all_help(sub)
    return texts


@pytest.mark.parametrize("name", MODULES)
def test_command_module_convention(name):
    module = importlib.import_module(f"videohub.commands.{name}")
    assert module.NAME == name and module.HELP and "\n" not in module.HELP
    parser = argparse.ArgumentParser(prog=f"videohub {name}")
    module.add_arguments(parser)
    for text in all_help(parser):
        assert "``" not in text and ":class:" not in text and ":func:" not in text, text
    # only the standard library at module level, so that `videohub --help` stays fast
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    roots = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in top)
