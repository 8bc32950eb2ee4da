#!/usr/bin/env python
"""Check videohub against the mmaction2 0.24.1 golden files.

    python scripts/check_parity.py ../shared/parity/golden [../shared/parity/golden_zoo ...]
        [--kinds rec2d rec3d audio funcs] [--skip-unsupported] [--verbose]

Prints one line per golden file (name, kind, max abs error, relative error, PASS/FAIL) and exits
non-zero if any file fails or cannot be handled (an unknown kind is a failure, not a skip,
unless --skip-unsupported reports it as SKIP: "architecture not built yet").
A value passes when |a - b| <= 1e-4 * max|ref| + 1e-5. golden_funcs.pt (kind "funcs") checks
videohub.metrics, videohub.localization and the pipeline steps.
"""

import sys

from videohub.conversion.parity import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
