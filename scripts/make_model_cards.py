#!/usr/bin/env python
"""Write one model card per mmaction2 preset into model_cards/<repo_name>/README.md.

    python scripts/make_model_cards.py [--output model_cards] [--org videohub]

The cards come from the checked-in preset facts (videohub/conversion/presets_data/zoo.json), one
per preset of every family (recognizers, skeleton recognizers, localizers, detectors): the task and
its input, published metrics, a usage snippet for the task, provenance and citation. Stale cards of presets that no
longer exist are removed.
"""

import argparse
import os
import shutil
import sys

from videohub.conversion.cards import DEFAULT_ORG, preset_card, repo_id_for
from videohub.conversion.presets import list_presets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="model_cards", help="output folder (default: model_cards)")
    parser.add_argument("--org", default=DEFAULT_ORG, help=f"Hub organization of the repo ids (default: {DEFAULT_ORG})")
    args = parser.parse_args(argv)
    entries = list_presets()
    os.makedirs(args.output, exist_ok=True)
    wanted = set()
    for entry in entries:
        folder = os.path.join(args.output, entry["repo_name"])
        os.makedirs(folder, exist_ok=True)
        preset_card(entry, repo_id=repo_id_for(entry, args.org)).save(os.path.join(folder, "README.md"))
        wanted.add(entry["repo_name"])
    removed = 0
    for name in sorted(os.listdir(args.output)):
        path = os.path.join(args.output, name)
        if os.path.isdir(path) and name not in wanted:
            shutil.rmtree(path)
            removed += 1
    print(f"wrote {len(entries)} model cards to {args.output}/ (removed {removed} stale)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
