"""The ``videohub`` dispatcher: command discovery, help, --version, startup cost and exit codes."""

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

import videohub
from videohub import cli
from videohub.cli import command_modules, main
from videohub.errors import UsageError

SRC = os.path.dirname(os.path.dirname(os.path.abspath(videohub.__file__)))
HEAVY = ("torch", "transformers", "numpy", "huggingface_hub", "accelerate", "av", "datasets", "cv2")
RST = re.compile(r"``|:(class|func|meth|mod|attr|data|exc):`")


def help_pages():
    """``[...argv, "--help"]`` of the top level, every command and every sub-subcommand."""
    pages = [[]]

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    pages.append(prefix + [name])
                    walk(sub, prefix + [name])

    walk(cli.build_parser(), [])
    return pages


def test_every_command_module_follows_the_convention():
    modules = command_modules()
    assert {"predict", "hub", "convert"} <= {m.NAME for m in modules}
    for module in modules:
        assert isinstance(module.NAME, str) and re.fullmatch(r"[a-z][a-z0-9-]*", module.NAME)
        assert isinstance(module.HELP, str) and module.HELP and "\n" not in module.HELP
        assert callable(module.add_arguments) and callable(module.run)


def test_bare_videohub_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: videohub")
    for module in command_modules():
        assert f"    {module.NAME} " in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"videohub {videohub.__version__}\n"


def test_help_pages_are_plain_text(capsys):
    pages = help_pages()
    assert ["hub", "serve"] in pages and ["predict"] in pages and ["convert"] in pages
    for argv in pages:
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: videohub {' '.join(argv)}".rstrip())
        assert not RST.search(out), f"RST markup in 'videohub {' '.join(argv)} --help': {RST.search(out)[0]}"


# The package's __init__ is replaced by an empty module so that this measures the CLI's own imports
# (cli.py and the top level of every command module), whatever ``import videohub`` costs.
HELP_WITHOUT_INIT = """
import importlib.util, json, sys, types
spec = importlib.util.find_spec("videohub")
package = types.ModuleType("videohub")
package.__path__, package.__version__ = list(spec.submodule_search_locations), "0"
sys.modules["videohub"] = package
from videohub import cli
for argv in json.loads(sys.argv[1]):
    try:
        cli.main(argv + ["--help"])
    except SystemExit:
        pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in HEAVY)))
"""


def test_help_imports_nothing_heavy():
    pages = help_pages()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + HELP_WITHOUT_INIT, json.dumps(pages)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--top-k K" in proc.stdout and "serve" in proc.stdout
    assert json.loads(proc.stdout.splitlines()[-1]) == []


END_TO_END = """
import json, sys
import videohub
eager = sorted(name for name in sys.modules if name.split(".")[0] in HEAVY)
from videohub.cli import main
try:
    main(["--help"])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"eager": eager, "code": code, "after": sorted(n for n in sys.modules if n.split(".")[0] in HEAVY)}))
"""


def test_videohub_help_end_to_end_imports_nothing_heavy():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + END_TO_END], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    if result["eager"]:
        pytest.skip(f"'import videohub' itself imports {', '.join(result['eager'][:3])}, ...")
    assert result["code"] == 0 and result["after"] == []


@pytest.mark.parametrize("error, code, err", [
    (UsageError("no such thing"), 2, "videohub predict: error: no such thing\n"),
    (KeyboardInterrupt(), 130, "\n"),
    (BrokenPipeError(), 141, ""),
])
def test_exit_codes(monkeypatch, capsys, error, code, err):
    from videohub.commands import predict

    def run(args):
        raise error

    monkeypatch.setattr(predict, "run", run)
    assert main(["predict", "x.mp4", "--model", "m"]) == code
    assert capsys.readouterr().err == err


def test_a_module_without_the_interface_is_reported(monkeypatch, tmp_path):
    from videohub import commands

    (tmp_path / "broken_command.py").write_text("NAME = 'broken'\n")
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    try:
        with pytest.raises(TypeError, match="broken_command lacks HELP, add_arguments, run"):
            command_modules()
    finally:
        sys.modules.pop("videohub.commands.broken_command", None)
