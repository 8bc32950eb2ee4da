"""Presets: the published mmaction2 v0.x checkpoints that videohub converts.

The data (``presets_data/zoo.json``) is extracted from the mmaction2 0.24.1 wheel by
:func:`build_zoo` and checked in; it holds facts only, as mmaction2 publishes them:

* ``name``: the preset name (the metafile's model name; where mmaction2 lists several checkpoints
  under one name, the first keeps it and the config's name or the training resolution tells the
  others apart);
* ``config``: the mmaction2 config file, and ``model`` / ``test_pipeline``: its merged model dict
  and test pipeline, read with :func:`~videohub.conversion.config_reader.load_config`;
* ``checkpoint_file`` / ``checkpoint_url``: the published ``.pth``;
* ``dataset`` and ``metrics``: the published results (top-1/top-5 accuracy, mAP, AR@AN, ...);
* ``test_protocol``: the sampling and cropping of the test pipeline and the resulting views;
* ``metadata``: the metafile's training facts (pretraining, resolution, epochs, FLOPs, ...).

Datasets covered: Kinetics-400, Something-Something V1/V2, UCF101, HMDB51, ActivityNet v1.3,
THUMOS 14, AVA v2.1/v2.2, NTU60-XSub, NTU120-XSub, FineGYM and BABEL60/120. The metafiles are those
``model-index.yml`` imports plus the ones it leaves out (``configs/skeleton/stgcn`` and
``configs/skeleton/2s-agcn`` in 0.24.1), recorded under ``source.unlisted_metafiles``.

Every entry maps onto a videohub architecture (``arch``) through the ``mmaction2_types`` of the
config classes (:func:`~videohub.conversion.mmaction2.config_class_for`); a ``Recognizer3D`` whose
test pipeline draws pose heatmaps (``GeneratePoseTarget``) is PoseC3D (:func:`config_class_of`).
The ``family`` follows: ``recognizer``, ``skeleton`` (ST-GCN, 2s-AGCN, PoseC3D), ``localizer``
(BMN, SSN, BSN's TEM and PEM) or ``detector`` (AVA). Every entry is a preset (:func:`list_presets`,
:func:`get_preset`, :func:`preset_config`, ``videohub convert --preset``, a model card).

Two rules shape entries beyond one config and one checkpoint:

* **BSN** is published as one result of a pipeline of three configs (TEM, PGM, PEM) with two
  checkpoints. Each network is its own preset, named with its stage after the architecture
  (``bsn_tem_400x100_..._cuhk_mean_100`` and ``bsn_pem_...``), with its own checkpoint and card;
  both record the pipeline under ``pipeline`` (its name, the two presets in order, and the PGM
  config with its proposal-generation settings) and carry the pipeline's published metrics.
* **SSN**'s metafile names its training config; the test pipeline comes from the sibling
  ``..._test.py`` config, recorded as ``test_config``.

Regenerate with ``python -m videohub.conversion.presets --mim-dir <wheel>/mmaction/.mim``.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import functools
import glob
import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import yaml

from ..auto import CONFIG_CLASSES
from ..configuration_utils import RECOGNIZERS, DetectorConfig, LocalizerConfig, RecognizerConfig, VideoConfig
from ..errors import ConfigError
from .config_reader import load_config
from .mmaction2 import SAMPLING_STEPS, config_class_for, config_from_mmaction2

ZOO_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets_data", "zoo.json")
MMACTION2_VERSION = "0.24.1"

# Published dataset name -> slug used in repo names and card metadata.
DATASETS: Dict[str, str] = {
    "Kinetics-400": "kinetics400",
    "SthV1": "sthv1",
    "SthV2": "sthv2",
    "UCF101": "ucf101",
    "HMDB51": "hmdb51",
    "ActivityNet v1.3": "activitynet",
    "THUMOS 14": "thumos14",
    "AVA v2.1": "ava21",
    "AVA v2.2": "ava22",
    "NTU60-XSub": "ntu60-xsub",
    "NTU120-XSub": "ntu120-xsub",
    "FineGYM": "finegym",
    "BABEL60": "babel60",
    "BABEL120": "babel120",
}

# task of a config class -> the family recorded in the zoo entries.
FAMILIES: Dict[str, str] = {
    RecognizerConfig.task: "recognizer",
    LocalizerConfig.task: "localizer",
    DetectorConfig.task: "detector",
}
# Recognizers on poses, and their input: keypoints (B, C, T, V, M) or heatmap clips.
SKELETON_INPUTS: Dict[str, str] = {"stgcn": "keypoints", "agcn": "keypoints", "posec3d": "heatmaps"}
# The test-pipeline step that turns poses into heatmap channels (PoseC3D's input).
HEATMAP_STEP = "GeneratePoseTarget"
# Test-pipeline steps that fix the clips a recognizer sees (mmaction2's samplers plus the pose ones).
PROTOCOL_SAMPLERS = SAMPLING_STEPS + ("UniformSampleFrames", "PaddingWithLoop")

_SAMPLING = re.compile(r"^\d+x\d+x\d+$")
_EPOCHS = re.compile(r"^\d+e$")
# Name tokens that spell an entry's own dataset (dropped from its repo name after the sampling token).
_DATASET_TOKENS = {
    "kinetics400": {"kinetics400", "kinetics"},
    "sthv1": {"sthv1"},
    "sthv2": {"sthv2"},
    "ucf101": {"ucf101"},
    "hmdb51": {"hmdb51"},
    "activitynet": {"activitynet"},
    "thumos14": {"thumos14"},
    "ava21": {"ava"},
    "ava22": {"ava22"},
    "ntu60-xsub": {"ntu60", "xsub"},
    "ntu120-xsub": {"ntu120", "xsub"},
    "finegym": {"gym"},
    "babel60": {"babel60"},
    "babel120": {"babel120"},
}
# Architectures whose mmaction2 names start with another architecture's (PoseC3D's with its SlowOnly
# backbone): their repo names get the architecture in front.
_REPO_PREFIXES = {"posec3d": "posec3d"}
_RESOLUTION_TAGS = {"340x256": "340x256", "short-side 256": "256p", "short-side 320": "320p"}
_CROPS = {"CenterCrop": 1, "ThreeCrop": 3, "TenCrop": 10}


# ---------------------------------------------------------------------------------------------
# reading the checked-in data
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _zoo() -> Dict[str, Any]:
    if not os.path.isfile(ZOO_FILE):
        raise ConfigError(f"preset data {ZOO_FILE} is missing from the installation")
    with open(ZOO_FILE, encoding="utf-8") as f:
        return json.load(f)


def load_zoo() -> Dict[str, Any]:
    """The whole checked-in zoo data (a copy): ``source``, ``collections``, ``entries``, ``not_covered``."""
    return copy.deepcopy(_zoo())


def list_presets() -> List[Dict[str, Any]]:
    """The preset entries (copies), in zoo order."""
    return [copy.deepcopy(e) for e in _zoo()["entries"]]


def get_preset(name: str) -> Dict[str, Any]:
    """The preset called ``name`` (a copy).

    Raises:
        ConfigError: no preset has that name (close names are suggested; the name of a BSN
            pipeline names its two presets).
    """
    for entry in _zoo()["entries"]:
        if entry["name"] == name:
            return copy.deepcopy(entry)
    stages = [e["name"] for e in _zoo()["entries"] if (e.get("pipeline") or {}).get("name") == name]
    if stages:
        raise ConfigError(f"{name!r} is a BSN pipeline of two checkpoints: convert its presets {stages} one by one "
                          "(the proposal generation between them has no weights)")
    names = [e["name"] for e in _zoo()["entries"]]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f"; did you mean {close}?" if close else "; see `convert_mmaction2_checkpoint.py --list-presets`"
    raise ConfigError(f"unknown preset {name!r}{hint}")


def collection(name: str) -> Dict[str, Any]:
    """The paper and README of an mmaction2 model collection (``"TSN"``, ``"SlowFast"``, ...)."""
    return copy.deepcopy(_zoo()["collections"].get(name, {}))


def draws_heatmaps(test_pipeline: Optional[Sequence[Mapping[str, Any]]]) -> bool:
    """Whether an mmaction2 test pipeline feeds the model pose heatmaps (it has ``GeneratePoseTarget``)."""
    return any(isinstance(step, Mapping) and step.get("type") == HEATMAP_STEP for step in test_pipeline or ())


def config_class_of(model_cfg: Mapping[str, Any],
                    test_pipeline: Optional[Sequence[Mapping[str, Any]]] = None) -> Type[VideoConfig]:
    """The videohub config class of an mmaction2 model and its test pipeline.

    :func:`~videohub.conversion.mmaction2.config_class_for` decides from the model dict, except that
    a 3D recognizer fed heatmaps (:func:`draws_heatmaps`) is PoseC3D: the same network as a SlowOnly
    recognizer, on pose input.
    """
    config_class = config_class_for(model_cfg)
    if model_cfg.get("type") == "Recognizer3D" and draws_heatmaps(test_pipeline):
        return CONFIG_CLASSES["videohub-posec3d"]
    return config_class


def config_from_entry(entry: Mapping[str, Any], id2label: Optional[Union[Mapping[int, str], Sequence[str]]] = None,
                      **overrides: Any) -> VideoConfig:
    """The videohub config of a zoo entry (its ``model`` and ``test_pipeline``), of the entry's architecture.

    Args:
        entry: A preset (:func:`get_preset`).
        id2label: Class names (the head's ``num_classes`` of them). Default ``None`` (``LABEL_0`` ...).
        **overrides: Further config fields, set when the config is made (e.g. ``num_labels=10``).
    """
    return config_from_mmaction2(entry["model"], entry["test_pipeline"], id2label,
                                 config_class=CONFIG_CLASSES[f"videohub-{entry['arch']}"], **overrides)


def preset_config(name: str, id2label: Optional[Union[Mapping[int, str], Sequence[str]]] = None,
                  **overrides: Any) -> VideoConfig:
    """The videohub config of preset ``name``, as the converter makes it.

    Recognizers: ``num_frames`` follows the preset's test pipeline (3D models: its ``clip_len``; 2D
    models: the segments of all test clips), ``num_labels`` its head. Localizers: the mmaction2
    constructor arguments. Detectors: backbone, RoI head (with its FBO/LFB or ACRN part) and
    ``train_cfg``/``test_cfg``. The class is the preset's ``arch`` (``BMNConfig``, ``TEMConfig``,
    ``AVAConfig``, ``PoseC3DConfig``, ...).

    Args:
        name: The preset name.
        id2label: Class names (the head's ``num_classes`` of them). Default ``None`` (``LABEL_0`` ...).
        **overrides: Further config fields, set when the config is made (e.g. ``num_labels=10``).
    """
    return config_from_entry(get_preset(name), id2label, **overrides)


# ---------------------------------------------------------------------------------------------
# building the data from the mmaction2 wheel
# ---------------------------------------------------------------------------------------------


def repo_name_for(name: str, dataset_slug: str, keep_epochs: bool = False) -> str:
    """``<arch>-<backbone and variant>-<sampling>-<dataset>`` from a preset name.

    ``tsn_r50_1x1x3_100e_kinetics400_rgb`` gives ``tsn-r50-1x1x3-kinetics400``: the sampling token
    (``AxBxC``) moves before the dataset, the epoch count (kept only with ``keep_epochs``), ``rgb``
    and the tokens naming the entry's own dataset that follow the sampling/epoch token are dropped
    (``..._hmdb51_kinetics400_rgb`` keeps its pretraining ``kinetics400``), and every other token
    stays in order.

    Args:
        name: The preset name.
        dataset_slug: The entry's dataset slug (``kinetics400``, ``sthv1``, ...).
        keep_epochs: Keep the ``<N>e`` token. Default ``False``.
    """
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", name) if t]
    anchor = next((i for i, t in enumerate(tokens) if _SAMPLING.match(t)), None)
    if anchor is None:
        anchor = next((i for i, t in enumerate(tokens) if _EPOCHS.match(t)), len(tokens))
    sampling = [t for t in tokens if _SAMPLING.match(t)]
    middle = []
    for i, token in enumerate(tokens[1:], 1):
        low = token.lower()
        if _SAMPLING.match(token) or (_EPOCHS.match(token) and not keep_epochs):
            continue
        if low == "rgb" or (i > anchor and low in _DATASET_TOKENS.get(dataset_slug, ())):
            continue
        middle.append(low)
    parts = [tokens[0].lower()] + middle + sampling[:1] + [dataset_slug]
    return "-".join(parts)


def _repo_name(entry: Mapping[str, Any], keep_epochs: bool = False) -> str:
    repo = repo_name_for(entry["name"], entry["dataset_slug"], keep_epochs)
    prefix = _REPO_PREFIXES.get(entry["arch"])
    return f"{prefix}-{repo}" if prefix and not repo.startswith(f"{prefix}-") else repo


def _test_pipeline(cfg: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    test = (cfg.get("data") or {}).get("test") or {}
    pipeline = test.get("pipeline") if isinstance(test, dict) else None
    return pipeline if pipeline is not None else cfg.get("test_pipeline")


def test_protocol(test_pipeline: Optional[Sequence[Dict[str, Any]]]) -> Optional[Dict[str, Any]]:
    """Sampling, resizing and cropping of an mmaction2 test pipeline, and the number of views.

    The sampler is the first of mmaction2's frame samplers, ``UniformSampleFrames`` (pose clips) or
    ``PaddingWithLoop`` (keypoint sequences); without one the result is ``None``.

    ``num_clips`` counts the sampled clips (``num_clips``, doubled by ``twice_sample``, times
    ``num_sample_positions`` for ``DenseSampleFrames``); ``num_crops`` is 1, 3 or 10 for
    ``CenterCrop``, ``ThreeCrop``, ``TenCrop`` (1 without a crop); ``views = num_clips * num_crops``.
    """
    if not test_pipeline:
        return None
    sampler = next((s for s in test_pipeline if s.get("type") in PROTOCOL_SAMPLERS), None)
    if sampler is None:
        return None
    clips = int(sampler.get("num_clips", 1))
    if sampler.get("twice_sample"):
        clips *= 2
    if sampler["type"] == "DenseSampleFrames":
        clips *= int(sampler.get("num_sample_positions", 10))
    crop = next((s for s in test_pipeline if s.get("type") in _CROPS), None)
    resize = next((s for s in test_pipeline if s.get("type") == "Resize"), None)
    crops = _CROPS[crop["type"]] if crop else 1
    return {
        "sampler": {k: v for k, v in sampler.items()},
        "resize_scale": resize.get("scale") if resize else None,
        "crop": crop["type"] if crop else None,
        "crop_size": crop.get("crop_size") if crop else None,
        "num_clips": clips,
        "num_crops": crops,
        "views": clips * crops,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, range):
        return list(value)
    return value


def _classify(model_cfg: Dict[str, Any], test_pipeline: Optional[Sequence[Mapping[str, Any]]]
              ) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """``(family, arch, reason)``: arch ``None`` with a reason when videohub does not cover it."""
    model_type = model_cfg.get("type")
    try:
        config_class = config_class_of(model_cfg, test_pipeline)
    except ConfigError as exc:
        if model_type in RECOGNIZERS:
            return "recognizer", None, str(exc)
        return None, None, f"mmaction2 model type {model_type!r}"
    arch = config_class.model_type[len("videohub-"):]
    return ("skeleton" if arch in SKELETON_INPUTS else FAMILIES[config_class.task]), arch, None


def _metafiles(mim_dir: str, index: Mapping[str, Any]) -> Tuple[List[str], List[str]]:
    """``(listed, unlisted)``: the metafiles ``model-index.yml`` imports, and the others under ``configs/``."""
    listed = list(index["Import"])
    found = sorted(os.path.relpath(path, mim_dir).replace(os.sep, "/")
                   for path in glob.glob(os.path.join(mim_dir, "configs", "**", "metafile.yml"), recursive=True))
    return listed, [path for path in found if path not in listed]


def _by_stage(values: Any, stage: str) -> Any:
    """The one URL of a per-stage list whose file name has ``_<stage>_`` (``None`` stays ``None``)."""
    if values is None or isinstance(values, str):
        return values
    found = [v for v in values if f"_{stage}_" in os.path.basename(v)]
    if len(found) != 1:
        raise ConfigError(f"cannot tell which of {values} belongs to the {stage.upper()} stage")
    return found[0]


class _Reader:
    """Configs of the wheel, each read once (without executing it)."""

    def __init__(self, mim_dir: str):
        self.mim_dir = mim_dir
        self.cache: Dict[str, Dict[str, Any]] = {}

    def __call__(self, path: str) -> Dict[str, Any]:
        if path not in self.cache:
            self.cache[path] = load_config(os.path.join(self.mim_dir, path))
        return self.cache[path]

    def test_config(self, path: str) -> Optional[str]:
        """The sibling ``..._test.py`` of a ``..._train.py`` config without a test pipeline, if it exists."""
        if _test_pipeline(self(path)) is None and path.endswith("_train.py"):
            sibling = path[:-len("_train.py")] + "_test.py"
            if os.path.isfile(os.path.join(self.mim_dir, sibling)):
                return sibling
        return None


def _with_config(entry: Dict[str, Any], read: _Reader, path: str) -> Tuple[Dict[str, Any], Optional[str], Optional[str]]:
    """Fill ``model``, ``test_pipeline`` and ``test_protocol`` of ``entry`` from config ``path``; ``(entry, arch, reason)``."""
    cfg = read(path)
    test_config = read.test_config(path)
    if test_config:
        entry["test_config"] = test_config
    pipeline = _test_pipeline(read(test_config) if test_config else cfg)
    entry["model"] = _jsonable(cfg["model"])
    entry["test_pipeline"] = _jsonable(pipeline)
    entry["test_protocol"] = _jsonable(test_protocol(pipeline))
    family, arch, reason = _classify(cfg["model"], pipeline)
    entry["family"], entry["arch"] = family, arch
    return entry, arch, reason


def _pipeline_entries(entry: Dict[str, Any], configs: Sequence[str], read: _Reader) -> List[Dict[str, Any]]:
    """The presets of a model published as a pipeline of configs (BSN: TEM, PGM, PEM), one per network.

    Each network's entry takes its stage's checkpoint and logs (told apart by ``_<stage>_`` in the
    file names, the stage being the model type), in the order of the published weights; the
    configs without a model (PGM) are recorded with their ``*_cfg`` settings.
    """
    networks = [(path, read(path)["model"]["type"].lower()) for path in configs if read(path).get("model")]
    steps = [path for path in configs if not read(path).get("model")]
    weights = entry["checkpoint_url"]
    networks.sort(key=lambda item: weights.index(_by_stage(weights, item[1])))
    first, _, rest = entry["name"].partition("_")
    names = [f"{first}_{stage}_{rest}" for _, stage in networks]
    pipeline: Dict[str, Any] = {"name": entry["name"], "presets": names, "configs": list(configs)}
    for path in steps:
        pipeline.setdefault("steps", []).append(
            {"config": path, "settings": {k: v for k, v in read(path).items() if k.endswith("_cfg")}})
    out = []
    for (path, stage), name in zip(networks, names):
        part = dict(entry, name=name, config=path, pipeline=_jsonable(pipeline))
        for key in ("checkpoint_url", "checkpoint_file", "training_log", "training_json_log"):
            part[key] = _by_stage(entry[key], stage)
        out.append(part)
    return out


def build_zoo(mim_dir: str) -> Dict[str, Any]:
    """Extract the preset data from an unpacked mmaction2 wheel's ``mmaction/.mim`` folder."""
    with open(os.path.join(mim_dir, "model-index.yml"), encoding="utf-8") as f:
        index = yaml.safe_load(f)
    listed, unlisted = _metafiles(mim_dir, index)
    collections: Dict[str, Any] = {}
    raw: List[Dict[str, Any]] = []
    for metafile in listed + unlisted:
        with open(os.path.join(mim_dir, metafile), encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        for col in meta.get("Collections", []):
            paper = col.get("Paper") or {}
            collections[col["Name"]] = {"paper_title": paper.get("Title"), "paper_url": paper.get("URL"),
                                        "readme": col.get("README")}
        for model in meta.get("Models", []):
            published = model["Results"] if isinstance(model["Results"], list) else [model["Results"]]
            results = [r for r in published if r["Dataset"] in DATASETS]
            if results:
                raw.append(dict(model, Results=results))

    entries: List[Dict[str, Any]] = []
    not_covered: List[Dict[str, Any]] = []
    seen_weights: Dict[str, Dict[str, Any]] = {}
    read = _Reader(mim_dir)
    for model in raw:
        weights_key = json.dumps(model["Weights"])
        if weights_key in seen_weights:  # the same checkpoint listed in two collections
            seen = seen_weights[weights_key]
            if model["In Collection"] not in seen["collections"]:
                seen["collections"].append(model["In Collection"])
            continue
        configs = model["Config"] if isinstance(model["Config"], list) else [model["Config"]]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", model["Name"]).strip("_")
        name = name[:-3] if name.endswith(".py") else name
        result = model["Results"][0]
        entry: Dict[str, Any] = {
            "name": name,
            "metafile_name": model["Name"],
            "collections": [model["In Collection"]],
            "config": model["Config"],
            "dataset": result["Dataset"],
            "dataset_slug": DATASETS[result["Dataset"]],
            "task": result["Task"],
            "metrics": dict(result["Metrics"]),
            "metadata": {k: v for k, v in (model.get("Metadata") or {}).items()},
            "modality": model.get("Modality"),
            "checkpoint_url": model["Weights"],
            "checkpoint_file": (os.path.basename(model["Weights"]) if isinstance(model["Weights"], str)
                                else [os.path.basename(w) for w in model["Weights"]]),
            "training_log": model.get("Training Log"),
            "training_json_log": model.get("Training Json Log"),
        }
        if model.get("Converted From"):
            entry["converted_from"] = model["Converted From"]
        covered = []
        for part in [entry] if len(configs) == 1 else _pipeline_entries(entry, configs, read):
            part, arch, reason = _with_config(part, read, part["config"])
            if arch is None:
                not_covered.append({"name": part["name"], "config": part["config"], "reason": reason})
            else:
                covered.append(part)
        if covered:
            seen_weights[weights_key] = covered[0]
            entries.extend(covered)

    _disambiguate(entries)
    _assign_repo_names(entries)
    return {
        "source": {"package": "mmaction2", "version": MMACTION2_VERSION,
                   "files": "mmaction/.mim/model-index.yml, its metafiles and configs",
                   "unlisted_metafiles": unlisted},
        "datasets": DATASETS,
        "collections": dict(sorted(collections.items())),
        "entries": entries,
        "not_covered": not_covered,
    }


def _disambiguate(entries: List[Dict[str, Any]]) -> None:
    """Give entries that share a metafile name distinct names.

    An entry whose config has another name takes the config's name; of the rest, the first one
    mmaction2 lists keeps the name and the others get their training resolution appended
    (``_256p``, ``_320p``, ``_340x256``).
    """
    by_name: Dict[str, List[Dict[str, Any]]] = {}
    for entry in entries:
        by_name.setdefault(entry["name"], []).append(entry)
    for name, group in by_name.items():
        if len(group) == 1:
            continue
        for entry in group:
            config = entry["config"] if isinstance(entry["config"], str) else entry["config"][0]
            stem = os.path.splitext(os.path.basename(config))[0]
            if stem != name:
                entry["name"] = stem
        remaining = [e for e in group if e["name"] == name]
        if len(remaining) > 1:
            for entry in remaining[1:]:
                resolution = entry["metadata"].get("Resolution")
                if resolution not in _RESOLUTION_TAGS:
                    raise ConfigError(f"cannot tell apart the checkpoints published as {name!r}")
                entry["name"] = f"{name}_{_RESOLUTION_TAGS[resolution]}"
    names = [e["name"] for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"preset names are not unique: {duplicates}")


def _assign_repo_names(entries: List[Dict[str, Any]]) -> None:
    """Repo names without epochs where that is unique, with epochs otherwise."""
    short = [_repo_name(e) for e in entries]
    for entry, repo in zip(entries, short):
        entry["repo_name"] = repo if short.count(repo) == 1 else _repo_name(entry, keep_epochs=True)
    repos = [e["repo_name"] for e in entries]
    duplicates = sorted({r for r in repos if repos.count(r) > 1})
    if duplicates:
        raise ConfigError(f"repo names are not unique: {duplicates}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Regenerate ``presets_data/zoo.json`` from an unpacked mmaction2 wheel."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--mim-dir", required=True, help="the wheel's mmaction/.mim folder")
    parser.add_argument("--output", default=ZOO_FILE, help=f"output JSON (default: {ZOO_FILE})")
    args = parser.parse_args(argv)
    zoo = build_zoo(args.mim_dir)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(zoo, f, indent=1)
        f.write("\n")
    print(f"wrote {len(zoo['entries'])} entries ({len(zoo['not_covered'])} not covered) to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
