"""Fixtures of the conversion tests: the mmaction2 0.24.1 wheel (optional) and small helpers."""

import glob
import os
import zipfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
WHEEL_GLOBS = ("/tmp/mma/mmaction2-0.24.1-*.whl", os.path.expanduser("~/.cache/videohub/mmaction2-0.24.1-*.whl"))


def _find_wheel():
    path = os.environ.get("VIDEOHUB_MMACTION2_WHEEL")
    if path:
        return path if os.path.isfile(path) else None
    for pattern in WHEEL_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


@pytest.fixture(scope="session")
def mim_dir(tmp_path_factory):
    """The ``mmaction/.mim`` folder of the mmaction2 0.24.1 wheel, unpacked (skips without the wheel).

    Get the wheel with ``pip download mmaction2==0.24.1 --no-deps -d /tmp/mma`` or point
    ``VIDEOHUB_MMACTION2_WHEEL`` at it.
    """
    wheel = _find_wheel()
    if wheel is None:
        pytest.skip("mmaction2 0.24.1 wheel not found (pip download mmaction2==0.24.1 --no-deps -d /tmp/mma, "
                    "or set VIDEOHUB_MMACTION2_WHEEL)")
    target = tmp_path_factory.mktemp("mmaction2_wheel")
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith("mmaction/.mim/")]
        zf.extractall(target, members)
    return os.path.join(str(target), "mmaction", ".mim")
