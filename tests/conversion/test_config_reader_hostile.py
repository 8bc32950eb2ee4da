"""Hostile configs: each one stops at the reader's bounds with a ConfigError naming ``file:line``.

Before the bounds of ``videohub.conversion.config_reader`` these configs hung the reader (integer
and list bombs), took gigabytes (shared-reference and string bombs, YAML aliases) or died with a raw
RecursionError / OverflowError.
"""

import re
import textwrap
import time

import pytest

from videohub.conversion import config_reader
from videohub.conversion.config_reader import load_config, load_config_text
from videohub.errors import ConfigError

# CPU seconds a hostile config may take before its ConfigError. The bounds (work units, sizes, depth)
# are what is tested; this only catches a bound that no longer bites (the configs ran for minutes
# unbounded). Each takes about 0.1-0.3 s here, more on a loaded CI machine.
FAST = 2.0
TOO_LONG = "would create more than 1000000 characters"
WORK = "more than 200000 units of work"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def refused(path, line, message, at=None):
    """Load ``path``: a ConfigError at ``at:line`` (``at`` defaults to ``path``) naming ``message``, in < FAST s."""
    start = time.process_time()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    spent = time.process_time() - start
    text = str(info.value)
    assert text.startswith(f"{at or path}:{line}: "), text
    assert message in text, text
    assert spent < FAST, f"{spent:.2f} s of CPU before the ConfigError: {text}"
    return text


# (name, source, line of the error, part of the message). Line 1 of every file is a harmless assignment.
PYTHON_CASES = [
    # integer size: each step squares the number (or raises it to the 9th power); unbounded, these run for hours
    ("mul_chain", "a = 10 ** 200\n" + "a = a * a\n" * 30, 5,
     "an integer of 5316 bits is larger than the reader's bound of 4096 bits"),
    ("pow_chain", "a = 9 ** 9\nb = a ** 9\nc = b ** 9\nd = c ** 9\n" + "d = d ** 9\n" * 10, 5,
     "the exponent in BinOp `c ** 9` makes an integer of more than 4096 bits"),
    ("pow_tower", "x = 2 ** 2 ** 2 ** 2 ** 2 ** 2\n", 2, "the exponent in BinOp `2 ** 2 ** 2 ** 2 ** 2`"),
    ("shift", "x = 1 << 10 ** 9\n", 2, "binary operator LShift is not allowed"),
    ("big_literal", "x = 0x" + "f" * 5000 + "\n", 2, "an integer of 20000 bits"),
    ("int_of_long_string", "x = int('1' * 100000, 2)\n", 2, "an integer of 100000 bits"),
    ("sum_of_big_ints", "a = 2 ** 4095\nb = sum([a, a, a])\n", 3, "an integer of 4097 bits"),
    ("round_to_huge_digits", "x = round(5, -10 ** 9)\n", 2, "round() to -1000000000 digits"),
    # total size: shared references are cheap to make but expand when the config is used
    ("list_bomb", "a = [1] * 1000\nb = [a] * 1000\nc = [b] * 1000\nd = [c] * 1000\n", 3,
     "BinOp `[a] * 1000` " + TOO_LONG),
    ("tuple_hash_bomb", "a = tuple(range(1000))\nb = (a,) * 1000\nc = {b: 1}\n", 3, "BinOp `(a,) * 1000` " + TOO_LONG),
    ("dict_bomb", "a = dict(x=[1] * 1000)\nb = {str(i): a for i in range(1000)}\n", 3,
     "DictComp `{str(i): a for i in range(1000)}` " + TOO_LONG),
    ("comprehension_of_shared", "a = list(range(10000))\nb = [a for i in range(100)]\n", 3, TOO_LONG),
    ("string_repetition", "s = 'abcdefgh' * 100000\nt = s * 100\n", 3, "BinOp `s * 100` " + TOO_LONG),
    ("string_repetition_huge", "x = 'a' * 10 ** 12\n", 2, TOO_LONG),
    ("fstring_bomb", "a = 'x' * 100000\nb = f'{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}'\n", 3, TOO_LONG),
    ("fstring_doubling", "a = 'x'\n" + "a = f'{a}{a}'\n" * 40, 22, TOO_LONG),
    ("fstring_width", "x = f'{1:>999999999}'\n", 2,
     "a width or precision of '999999999' is larger than the reader's bound of 1000"),
    ("fstring_nested_width", "w = 10 ** 9\nx = f'{1:>{w}}'\n", 3, "a width or precision of '1000000000'"),
    ("percent_width", "x = '%999999999d' % 1\n", 2, "a width or precision of '999999999'"),
    ("percent_precision", "x = '%.999999f' % 1.5\n", 2, "a width or precision of '999999'"),
    ("percent_star", "x = '%*d' % (999999999, 1)\n", 2, "a `*` width in a %-format is not supported"),
    ("percent_repeat", "a = 'x' * 100000\nx = '%(a)s' * 20 % dict(a=a)\n", 3, TOO_LONG),
    ("concatenation_doubling", "a = 'x'\n" + "a = a + a\n" * 60, 22, "BinOp `a + a` " + TOO_LONG),
    ("list_concatenation", "a = list(range(100000))\nb = a + a + a + a + a + a + a + a + a + a\n", 3, TOO_LONG),
    ("augmented_plus", "a = ['x' * 100000] * 2\nb = []\n" + "b += a\n" * 300, 7,
     "assigning 'b': the config's variables together " + TOO_LONG),
    ("augmented_plus_many_items", "a = [0] * 30000\nb = []\n" + "b += a\n" * 300, 6, WORK),
    ("starred_unpacking", "a = list(range(100000))\nb = [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n", 3,
     "List `[*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]` " + TOO_LONG),
    ("str_of_shared", "a = [1] * 1000\nb = [a] * 200\nc = str([b, b, b, b, b])\n", 4, TOO_LONG),
    ("range_to_list", "x = list(range(10 ** 18))\n", 2, "Call `list(range(10 ** 18))` " + TOO_LONG),
    ("range_comprehension", "x = [i for i in range(10 ** 9) if i < 0]\n", 2, TOO_LONG),
    ("range_len_overflow", "x = len(range(10 ** 30))\n", 2, "OverflowError"),
    ("range_sum", "x = sum(range(10 ** 12))\n", 2, TOO_LONG),
    ("sum_of_lists", "a = [[0] * 100] * 1000\nx = sum(a, [])\n", 3, WORK),
    ("setitem_grows_shared", "a = [0] * 10\nb = [a] * 20000\na[0] = 'x' * 1000\n", 4, TOO_LONG),
    ("setitem_recursive", "a = [0]\na[0] = a\n", 3, "a list or dict contains itself"),
    ("variables_together", "a = 'x' * 600000\nb = 'y' * 600000\n", 3, "the config's variables together " + TOO_LONG),
    # work: each of these keeps the values small but loops long
    ("nested_comprehension", "a = [[[i, j, k] for i in range(100) for j in range(100)] for k in range(100)]\n", 2,
     WORK),
    ("float_in_range", "x = 0.5 in range(10 ** 15)\n", 2, WORK),
    ("sorted_again_and_again", "a = list(range(100000))\nb = [len(sorted(a)) for i in range(100)]\n", 3, WORK),
    ("compare_shared", "a = [[1] * 100] * 100\nb = [[1] * 100] * 100\nx = [a == b for i in range(100000)]\n", 4, WORK),
    ("hash_again_and_again", "a = tuple(range(30000))\nx = [len({a}) for i in range(100000)]\n", 3, WORK),
    ("scope_copies", "".join(f"v{i} = {i}\n" for i in range(3000)) + "x = [i for i in range(100000)]\n", 3002, WORK),
    # nesting depth
    ("deep_value_by_statements", "a = []\n" + "a = [a]\n" * 100, 34,
     "lists, tuples, dicts and sets nest deeper than the reader's bound of 32 levels"),
    # `inner` sits 31 lists deep in `outer`; making it 5 lists deep puts `outer` past the bound
    ("deep_value_by_setitem", "inner = [0]\nouter = " + "[" * 30 + "inner" + "]" * 30 + "\ninner[0] = [[[[0]]]]\n", 4,
     "nest deeper than the reader's bound of 32 levels"),
    ("deep_list_display", "x = " + "[" * 90 + "]" * 90 + "\n", 2, "nest deeper than the reader's bound of 32 levels"),
    ("deep_expression", "x = " + "-(" * 150 + "1" + ")" * 150 + "\n", 2,
     "expression nested deeper than the reader's bound of 100 levels"),
    ("deep_unary_chain", "x = " + "-" * 20000 + "1\n", 2, "the statement is nested too deeply for Python's parser"),
    ("deep_addition_chain", "x = " + "+".join(["1"] * 20000) + "\n", 2,
     "the statement is nested too deeply for Python's parser"),
    # the file itself
    ("null_byte", "x = 1\ny = '\0'\n", 3,
     "invalid Python syntax in config: source code string cannot contain null bytes"),
]


@pytest.mark.parametrize("name,source,line,message", PYTHON_CASES, ids=[case[0] for case in PYTHON_CASES])
def test_hostile_python_config_is_refused_fast(tmp_path, name, source, line, message):
    path = write(tmp_path, f"{name}.py", "model = dict(type='Recognizer2D')\n" + source)
    refused(path, line, message)


def test_the_same_bounds_hold_for_config_text():
    start = time.process_time()
    bomb = "a = [1] * 1000\nb = [a] * 1000\nc = [b] * 1000\n"
    with pytest.raises(ConfigError, match=r"^ckpt\.pth\[meta\.config\]:2: BinOp `\[a\] \* 1000` would create more"):
        load_config_text(bomb, filename="ckpt.pth[meta.config]")
    with pytest.raises(ConfigError, match=r"^t:1: config text is longer than 131072 characters"):
        load_config_text("#" * (config_reader.MAX_FILE_BYTES + 1), filename="t")
    assert time.process_time() - start < FAST


def test_file_too_large_or_not_utf8(tmp_path):
    big = write(tmp_path, "big.py", "x = 1\n" + "# padding\n" * 20000)
    refused(big, 1, "config file is larger than 131072 bytes")
    binary = tmp_path / "latin1.py"
    binary.write_bytes(b"x = 1\ny = 'caf\xe9'\n")
    refused(str(binary), 2, "config file is not valid UTF-8")


def test_predefined_variable_expansion_is_bounded(tmp_path):
    folder = tmp_path / ("d" * 200)
    folder.mkdir()
    path = write(folder, "cfg.py", "x = 1\ny = '" + "{{ fileDirname }}" * 2000 + "'\n")
    refused(path, 2, "substituting the predefined variables makes the config longer than 262144 characters")


# ------------------------------------------------------------------------------------ inheritance


def test_base_cycle_names_the_base_line(tmp_path):
    a = write(tmp_path, "a.py", "x = 1\n_base_ = 'b.py'\n")
    b = write(tmp_path, "b.py", "y = 2\nz = 3\n_base_ = ['a.py']\n")
    # reported at the _base_ line of the file that closes the cycle
    text = refused(a, 3, "circular _base_ inheritance", at=b)
    assert text == f"{b}:3: circular _base_ inheritance: {a} -> {b} -> {a}"


def test_base_self_reference(tmp_path):
    path = write(tmp_path, "self.py", "_base_ = './self.py'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:1: circular _base_ inheritance: {path} -> {path}"


def test_base_chain_too_deep(tmp_path):
    for i in range(20):
        write(tmp_path, f"c{i}.py", f"v{i} = {i}\n_base_ = 'c{i + 1}.py'\n")
    write(tmp_path, "c20.py", "v20 = 20\n")
    start = time.process_time()
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "c0.py"))
    assert time.process_time() - start < FAST
    message = f"{tmp_path / 'c7.py'}:2: _base_ inheritance deeper than the reader's bound of 8 files: "
    assert str(info.value).startswith(message)
    assert str(info.value).endswith(f"{tmp_path / 'c7.py'} -> {tmp_path / 'c8.py'}")
    # a chain within the bound loads, with every level's variable
    assert load_config(str(tmp_path / "c13.py")) == {f"v{i}": i for i in range(13, 21)}


def test_base_fan_out_is_bounded(tmp_path):
    # each level lists the next twice (no keys, so no duplicate-key error): 2 ** 7 - 1 reads without the bound
    for i in range(6):
        write(tmp_path, f"f{i}.py", f"_base_ = ['f{i + 1}.py', 'f{i + 1}.py']\n")
    write(tmp_path, "f6.py", "")
    start = time.process_time()
    with pytest.raises(ConfigError, match=r"make more than 32 files to read") as info:
        load_config(str(tmp_path / "f0.py"))
    assert time.process_time() - start < FAST
    assert re.match(rf"{re.escape(str(tmp_path))}/f\d+\.py:1: ", str(info.value))
    many = write(tmp_path, "many.py", "x = 1\n_base_ = ['f6.py'] * 40\n")
    refused(many, 2, "make more than 32 files to read")


def test_base_variable_copies_are_bounded(tmp_path):
    write(tmp_path, "base.py", "big = ['abcdefghij' * 10] * 3000\n")
    copies = "copies = [{{_base_.big}}, {{_base_.big}}, {{_base_.big}}, {{_base_.big}}]\n"
    path = write(tmp_path, "child.py", "_base_ = 'base.py'\nx = 1\n" + copies)
    refused(path, 3, "the {{_base_.x}} base variables " + TOO_LONG)


def test_merged_config_size_is_bounded(tmp_path):
    write(tmp_path, "base.py", "x = 'a' * 600000\n")
    path = write(tmp_path, "child.py", "y = 'b' * 600000\n_base_ = 'base.py'\n")
    refused(path, 2, "the config merged with its _base_ files: a dict of 2 items " + TOO_LONG)


# ------------------------------------------------------------------------------------ YAML and JSON


def billion_laughs(levels=9, width=9):
    lines = ["lol0: &lol0 " + repr(["lol"] * width).replace("'", '"')]
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_billion_laughs(tmp_path):
    path = write(tmp_path, "lol.yaml", billion_laughs())
    # 9 ** 6 copies of "lol" (on line 6) pass 1 000 000 characters
    refused(path, 6, "expanding the YAML aliases " + TOO_LONG)


def test_yaml_billion_laughs_as_base(tmp_path):
    write(tmp_path, "lol.yaml", billion_laughs())
    child = write(tmp_path, "child.py", "_base_ = ['lol.yaml']\nmodel = dict(type='Recognizer2D')\n")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'lol.yaml'}:6: expanding the YAML aliases")):
        load_config(child)


def test_yaml_small_aliases_still_load(tmp_path):
    path = write(tmp_path, "ok.yaml", billion_laughs(levels=3, width=3) + "_base_: []\nplain: 1\n")
    cfg = load_config(path)
    assert cfg["lol2"] == [[["lol"] * 3] * 3] * 3 and cfg["plain"] == 1


def test_yaml_recursive_alias(tmp_path):
    path = write(tmp_path, "loop.yaml", "a: 1\nb: &x\n  - 1\n  - *x\n")
    refused(path, 4, "an alias refers to a node that contains it")


def test_yaml_deep_nesting(tmp_path):
    path = write(tmp_path, "deep.yaml", "a: 1\nb: " + "[" * 100 + "]" * 100 + "\n")
    refused(path, 2, "lists and mappings nest deeper than the reader's bound of 32 levels")
    # deeper still, libyaml's own bound (1000 levels) answers first where PyYAML has libyaml
    import yaml

    path = write(tmp_path, "deeper.yaml", "a: 1\nb: " + "[" * 5000 + "]" * 5000 + "\n")
    if yaml.__with_libyaml__:
        refused(path, 2, "cannot parse config: while increasing flow level; exceeded maximum nesting depth")
    else:
        refused(path, 2, "lists and mappings nest deeper than the reader's bound of 32 levels")


def test_yaml_huge_integer(tmp_path):
    path = write(tmp_path, "int.yaml", "a: 1\nb: 0x" + "f" * 2000 + "\nc: " + "9" * 5000 + "\n")
    refused(path, 2, "an integer of 8000 bits")
    path = write(tmp_path, "int2.yaml", "a: 1\nc: " + "9" * 5000 + "\n")
    refused(path, 2, "integer '99999")


def test_yaml_base_cycle_names_the_base_line(tmp_path):
    a = write(tmp_path, "a.yaml", "x: 1\n_base_: b.json\n")
    b = write(tmp_path, "b.json", '{\n  "y": 1,\n  "_base_": "a.yaml"\n}\n')
    with pytest.raises(ConfigError) as info:
        load_config(a)
    assert str(info.value) == f"{b}:3: circular _base_ inheritance: {a} -> {b} -> {a}"


def test_json_deep_nesting(tmp_path):
    path = write(tmp_path, "deep.json", '{"a": "[[[ in a string", \n"b":\n' + "[" * 50000 + "]" * 50000 + "}\n")
    refused(path, 3, "lists and objects nest deeper than the reader's bound of 32 levels")


def test_json_huge_integer(tmp_path):
    path = write(tmp_path, "int.json", '{"a": 1,\n"b": ' + "9" * 2000 + "}\n")
    refused(path, 2, "an integer of 2000 digits")


def test_json_unterminated_string_with_escapes_is_fast(tmp_path):
    path = write(tmp_path, "bad.json", '{"a": "' + '\\"' * 60000 + "\n")
    start = time.process_time()
    with pytest.raises(ConfigError, match=r"bad\.json:1: cannot parse config: Invalid control character"):
        load_config(path)
    assert time.process_time() - start < FAST


# ------------------------------------------------------------------------- the bounds leave real configs alone


def test_real_sized_configs_stay_within_bounds(tmp_path):
    # a config shaped like mmaction2's largest (about 13 000 characters merged), made 20 times larger
    classes = [f"class_{i}" for i in range(400)]
    text = f"classes = {classes!r}\n" + "".join(
        f"pipeline_{i} = [dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={i}), "
        f"dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)]\n"
        for i in range(200)
    ) + "data = dict(train=dict(pipeline=pipeline_1, classes=classes), test=dict(pipeline=pipeline_2))\n"
    text += "data['test']['test_mode'] = True\nwork_dir = f'./work_dirs/{len(classes)}_%s' % 'x'\n"
    path = write(tmp_path, "large.py", text)
    cfg = load_config(path)
    assert cfg["classes"] == classes and cfg["pipeline_199"][0]["num_clips"] == 199
    assert cfg["data"]["test"] == dict(pipeline=cfg["pipeline_2"], test_mode=True)
    assert cfg["work_dir"] == "./work_dirs/400_x"


def test_values_near_the_bounds_are_accepted(tmp_path):
    path = write(tmp_path, "edge.py", textwrap.dedent("""\
        a = 2 ** 4095 + (2 ** 4095 - 1)
        b = 'x' * 900000
        c = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
        d = f'{1:>1000.1000f}'
        e = '%1000.1000f' % 1.0
    """))
    cfg = load_config(path)
    assert cfg["a"].bit_length() == 4096 and len(cfg["b"]) == 900000
    depth, value = 0, cfg["c"]
    while value != []:
        value, depth = value[0], depth + 1
    assert depth == 31  # 32 lists
    assert len(cfg["d"]) == 1002 and cfg["d"] == "1." + "0" * 1000 and len(cfg["e"]) == 1002


def test_yaml_reader_matches_safe_load(tmp_path):
    import yaml

    text = textwrap.dedent("""\
        defaults: &defaults {lr: 0.01, steps: [8, 11], name: base}
        model:
          <<: *defaults
          depth: 0x32
          when: 2001-12-14
          ratio: .5
          flags: !!set {a, b}
          text: |
            two
            lines
        pipelines: [*defaults, *defaults]
    """)
    path = write(tmp_path, "cfg.yaml", text)
    assert load_config(path) == yaml.safe_load(text)


def test_yaml_bounds_without_libyaml(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "yaml.cyaml", None)  # `from yaml.cyaml import CParser` fails: pure Python parser
    path = write(tmp_path, "lol.yaml", billion_laughs())
    refused(path, 6, "expanding the YAML aliases " + TOO_LONG)
    small = write(tmp_path, "ok.yaml", billion_laughs(levels=3, width=3))
    assert load_config(small)["lol2"] == [[["lol"] * 3] * 3] * 3


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "locked.py", "x = 1\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == path:
            raise PermissionError(13, "Permission denied", file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: cannot read config file: Permission denied"


def test_yaml_and_json_syntax_errors_name_the_line(tmp_path):
    bad_yaml = write(tmp_path, "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad_yaml)
    # libyaml says "did not find expected ',' or ']'", PyYAML's Python parser "expected ',' or ']', but got ':'"
    assert str(info.value).startswith(f"{bad_yaml}:3: cannot parse config: while parsing a flow sequence; ")
    bad_json = write(tmp_path, "bad.json", '{"a": 1,\n "b": [1, 2\n}\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad_json)
    assert str(info.value) == f"{bad_json}:3: cannot parse config: Expecting ',' delimiter (column 1)"


def test_json_integer_at_the_bound(tmp_path):
    path = write(tmp_path, "edge.json", '{"a": %d,\n"b": %d}\n' % (2 ** 4096 - 1, -(2 ** 4096 - 1)))
    assert load_config(path) == {"a": 2 ** 4096 - 1, "b": -(2 ** 4096 - 1)}
    path = write(tmp_path, "over.json", '{"a": 1,\n"b": %d}\n' % 2 ** 4096)
    refused(path, 2, "an integer of 1234 digits is larger than the reader's bound of 4096 bits")
