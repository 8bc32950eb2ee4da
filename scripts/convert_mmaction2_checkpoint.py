#!/usr/bin/env python
"""Convert an mmaction2 v0.x checkpoint (recognizer, localizer or detector) into a videohub model folder.

    python scripts/convert_mmaction2_checkpoint.py --config tsn_r50_1x1x3_100e_kinetics400_rgb.py \
        --checkpoint tsn.pth --output tsn-hf/ [--label-map labels.txt] [--push-to-hub org/name]
    python scripts/convert_mmaction2_checkpoint.py --preset tsn_r50_1x1x3_100e_kinetics400_rgb_340x256 \
        --output tsn-hf/           # downloads the published checkpoint, checks its sha256 prefix
    python scripts/convert_mmaction2_checkpoint.py --list-presets

The config is read without executing it; the checkpoint with torch.load(weights_only=True).
The folder gets model.safetensors, config.json, README.md (the card) and, for recognizers fed RGB
frames, preprocessor_config.json.
Same as `videohub convert ...`.
"""

import sys

from videohub.conversion.converter import main
from videohub.errors import run_script

if __name__ == "__main__":
    sys.exit(run_script(main, sys.argv[1:], "convert_mmaction2_checkpoint"))
