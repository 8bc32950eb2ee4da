#!/usr/bin/env python
"""Check videohub against the mmaction2 0.24.1 golden files.

    python scripts/check_parity.py ../shared/parity/golden [../shared/parity/golden_zoo ...]
        [--kinds rec2d rec3d audio funcs] [--via-pretrained] [--skip-unsupported] [--verbose]

Prints one line per golden file (name, kind, max abs error, relative error, PASS/FAIL) and exits
non-zero if any file fails or cannot be handled (an unknown kind is a failure, not a skip,
unless --skip-unsupported reports it as SKIP: "architecture not built yet").
With --via-pretrained every whole model (recognizers, skeleton models, TEM, PEM, BMN, SSN, the AVA
detector) is saved with save_pretrained and reloaded with AutoVideoModel.from_pretrained before
it is compared. A value passes when |a - b| <= 1e-4 * max|ref| + 1e-5. golden_funcs.pt (kind "funcs") checks
videohub.metrics, videohub.localization and the pipeline steps.
"""

import sys

from videohub.conversion.parity import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
