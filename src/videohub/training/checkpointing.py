"""Checkpoints of the training loop: writable output, crash- and full-disk-safe saves, checked resumes.

``<output_dir>`` holds:

- ``step_N/`` or ``epoch_N/``: ``accelerator.save_state`` (``model.safetensors``, ``optimizer.bin``,
  ``random_states_<process>.pkl``, ``scaler.pt`` with fp16) plus ``trainer_state.json``, written last;
- ``latest``: the name of the newest complete checkpoint;
- ``best_model/`` (``save_pretrained`` of the best weights, with the processor) and ``best.json``.

A save goes into ``.tmp-<name>``, which is renamed once every file is complete. If writing fails
(a full disk, a lost mount), the temporary folder is removed, the previous checkpoints and
``latest`` stay as they were, and :class:`~videohub.errors.CheckpointError` says so.

Resuming checks every file of a checkpoint first (:func:`checkpoint_problem`): a missing,
truncated or unreadable state, weights, optimizer or RNG file is named. ``"latest"`` then falls
back to the newest complete checkpoint with a warning (``strict=True`` stops instead); an
explicit folder is an error. After loading, the RNG states are compared with the file, because
Accelerate skips RNG files it cannot apply without an error.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..utils import logging
from ..utils.io import atomic_write_text
from .evaluation import BEST_FILE, EvalHook

logger = logging.get_logger(__name__)

STATE_FILE = "trainer_state.json"
LATEST_FILE = "latest"
BEST_DIR = "best_model"
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.bin"
SCALER_FILE = "scaler.pt"
RNG_FILE = "random_states_{}.pkl"
TMP_PREFIX = ".tmp-"
STATE_KEYS = ("completed_steps", "epoch", "batches_in_epoch", "seed", "scheduler")
RNG_KEYS = ("random_state", "numpy_random_seed", "torch_manual_seed")
_CHECKPOINT_NAME = re.compile(r"^(step|epoch)_(\d+)$")


# ------------------------------------------------------------------------------------------ output folder
def check_output_dir(output_dir: str) -> None:
    """Create ``output_dir`` if needed and make sure a file can be written in it.

    Raises:
        ConfigError: The folder cannot be created or written (names it and the system's reason).
    """
    try:
        os.makedirs(output_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=output_dir, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"the output directory {output_dir!r} is not writable ({err.strerror or err}); "
                          "checkpoints and the model could not be saved there. Choose another output_dir "
                          "or fix its permissions") from None


# ------------------------------------------------------------------------------------------ reading
def read_state(path: str) -> Dict[str, Any]:
    """The ``trainer_state.json`` of checkpoint folder ``path``.

    Raises:
        CheckpointError: The file is missing, not JSON (truncated) or lacks one of :data:`STATE_KEYS`.
    """
    file = os.path.join(path, STATE_FILE)
    try:
        with open(file, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{file} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{file} is unreadable or truncated ({err})") from None
    missing = [key for key in STATE_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(f"{file} lacks {missing}; expected the keys {list(STATE_KEYS)}")
    return state


def checkpoint_seed(path: str) -> int:
    """The seed of the run that wrote checkpoint folder ``path`` (a resumed run must reuse it)."""
    return int(read_state(path)["seed"])


def _load_rng(file: str) -> Dict[str, Any]:
    from accelerate.utils import load  # torch.load(weights_only=True) with numpy's RNG types allowed

    states = load(file)
    missing = [key for key in RNG_KEYS if not isinstance(states, dict) or key not in states]
    if missing:
        raise CheckpointError(f"{file} lacks the random states {missing}")
    return states


def _file_problem(file: str) -> Optional[str]:
    """Why ``file`` (a checkpoint part) cannot be loaded, or ``None``."""
    if not os.path.isfile(file):
        return f"{file} is missing"
    name = os.path.basename(file)
    try:
        if name.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(file, "pt"):  # checks the header against the file size
                pass
        elif name.startswith("random_states_"):
            _load_rng(file)
        else:  # torch.save zip archives: the central directory is at the end
            with zipfile.ZipFile(file) as archive:
                archive.namelist()
    except CheckpointError as err:
        return str(err)
    except Exception as err:  # safetensors, zipfile and torch raise their own types for a broken file
        return f"{file} is truncated or corrupt ({type(err).__name__}: {err})"
    return None


def checkpoint_problem(path: str) -> Optional[str]:
    """Why checkpoint folder ``path`` cannot be resumed from (naming the bad file), or ``None``.

    Checked: ``trainer_state.json`` (JSON with :data:`STATE_KEYS`), ``model.safetensors`` (header
    and size), ``optimizer.bin`` and ``scaler.pt`` when present (complete archives), and the RNG
    file of every process that wrote the checkpoint (loads, with :data:`RNG_KEYS`).
    """
    if not os.path.isdir(path):
        return f"{path} is not a checkpoint folder (a step_N/epoch_N folder written by the training loop)"
    try:
        state = read_state(path)
    except CheckpointError as err:
        return str(err)
    files = [MODEL_FILE, OPTIMIZER_FILE]
    files += [RNG_FILE.format(i) for i in range(int(state.get("num_processes", 1)))]
    if os.path.exists(os.path.join(path, SCALER_FILE)):
        files.append(SCALER_FILE)
    for name in files:
        problem = _file_problem(os.path.join(path, name))
        if problem is not None:
            return problem
    return None


def _candidates(output_dir: str) -> List[str]:
    """Checkpoint folders of ``output_dir``, the one to try first first.

    The folder named by ``latest``, then the others by ``(completed_steps, epoch)``, newest first;
    folders whose state cannot be read come before those (their age is unknown).
    """
    if not os.path.isdir(output_dir):
        return []
    folders = [os.path.join(output_dir, d) for d in sorted(os.listdir(output_dir))
               if _CHECKPOINT_NAME.match(d) and os.path.isdir(os.path.join(output_dir, d))]
    unknown, dated = [], []
    for folder in folders:
        try:
            state = read_state(folder)
        except CheckpointError:
            unknown.append(folder)
            continue
        dated.append(((int(state["completed_steps"]), int(state["epoch"])), folder))
    ordered = unknown + [folder for _, folder in sorted(dated, reverse=True)]
    pointer = os.path.join(output_dir, LATEST_FILE)
    if os.path.isfile(pointer):
        with open(pointer, encoding="utf-8", errors="replace") as f:
            name = f.read().strip()
        target = os.path.join(output_dir, name)
        if _CHECKPOINT_NAME.match(name) and target in ordered:
            ordered.remove(target)
            ordered.insert(0, target)
        else:
            logger.warning("%s names %r, which is not a checkpoint folder; scanning %s", pointer, name, output_dir)
    return ordered


def find_checkpoint(output_dir: str, which: str = "latest", strict: bool = False) -> Optional[str]:
    """The checkpoint folder to resume from, or ``None`` when ``which == "latest"`` finds none.

    ``"latest"`` tries the folder named by ``<output_dir>/latest``, then the other ``step_N`` /
    ``epoch_N`` folders, newest first; half-written ``.tmp-*`` folders are never considered. A
    checkpoint with a missing or damaged file (:func:`checkpoint_problem`) is skipped with a
    warning naming the file, or stops the search when ``strict``.

    Args:
        output_dir: The run's output folder.
        which: ``"latest"`` or a checkpoint folder. Default ``"latest"``.
        strict: Raise instead of falling back to an older checkpoint. Default ``False``.

    Raises:
        CheckpointError: ``which`` is a folder with a problem; with ``strict``, the newest checkpoint
            has one; or every checkpoint of ``output_dir`` has one.
    """
    if which != "latest":
        problem = checkpoint_problem(which)
        if problem is not None:
            raise CheckpointError(f"cannot resume from {which!r}: {problem}")
        return which
    candidates = _candidates(output_dir)
    problems = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if problems:
                logger.warning("resuming from %s, the newest complete checkpoint", path)
            return path
        if strict:
            raise CheckpointError(f"the newest checkpoint {path} cannot be resumed from: {problem}. Resume from "
                                  "an older checkpoint folder explicitly, or allow the fallback to the newest "
                                  "complete checkpoint (no --resume_strict)")
        logger.warning("skipping checkpoint %s: %s", path, problem)
        problems.append(problem)
    if problems:
        raise CheckpointError(f"no checkpoint of {output_dir} can be resumed from: " + "; ".join(problems))
    return None


def load_checkpoint(accelerator: Any, path: str) -> Dict[str, Any]:
    """``accelerator.load_state(path)``, checked; return the checkpoint's ``trainer_state.json``.

    The RNG states of this process are compared with its ``random_states_<i>.pkl`` after loading
    (Accelerate skips an RNG file it cannot apply without an error). A checkpoint written by fewer
    processes has no RNG file for this one: that is logged as a warning, since this process's
    random streams then start anew.

    Raises:
        CheckpointError: A file does not load, or the random states were not restored.
    """
    state = read_state(path)
    rng_file = os.path.join(path, RNG_FILE.format(accelerator.process_index))
    has_rng = os.path.isfile(rng_file)
    if not has_rng:
        logger.warning("%s has no random states for process %d (it was written by %s processes): this "
                       "process's random streams are not restored and the run is not an exact continuation",
                       path, accelerator.process_index, state.get("num_processes"))
    try:
        accelerator.load_state(path)
    except Exception as err:  # accelerate / torch / safetensors each have their own error types
        raise CheckpointError(f"cannot load checkpoint {path}: {type(err).__name__}: {err}") from err
    if has_rng:
        saved = _load_rng(rng_file)
        restored = (torch.equal(torch.get_rng_state(), saved["torch_manual_seed"])
                    and np.array_equal(np.random.get_state()[1], saved["numpy_random_seed"][1])
                    and random.getstate() == saved["random_state"])
        if not restored:
            raise CheckpointError(f"the random states of {rng_file} were not restored; the resumed run would "
                                  "not continue the interrupted one exactly")
    return state


# ------------------------------------------------------------------------------------------ saving
def _reason(err: Exception) -> str:
    return str(err) if isinstance(err, OSError) else f"{type(err).__name__}: {err}"


def all_ok(accelerator: Any, ok: bool) -> bool:
    """Whether ``ok`` holds on every process (one all-reduce; no process is left waiting)."""
    if accelerator.num_processes == 1:
        return ok
    flag = torch.tensor([0 if ok else 1], device=accelerator.device)
    return int(accelerator.reduce(flag, "sum").item()) == 0


def _replace_dir(src: str, dst: str) -> None:
    """Rename folder ``src`` to ``dst``; an existing ``dst`` is moved aside first and removed after."""
    old = dst.rstrip("/\\") + ".old"
    if os.path.isdir(dst):
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(accelerator: Any, output_dir: str, name: str, state: Dict[str, Any],
                    total_limit: Optional[int] = None) -> str:
    """Save ``accelerator.save_state`` + ``state`` as ``<output_dir>/<name>``, atomically.

    Every process writes into ``<output_dir>/.tmp-<name>``; once all have finished, the main
    process adds ``trainer_state.json`` (written last), renames the folder to ``<name>`` and
    points ``<output_dir>/latest`` at it (an atomic file replace). A run killed at any moment
    leaves ``latest`` naming a complete checkpoint.

    Args:
        accelerator: The run's ``accelerate.Accelerator``.
        output_dir: The run's output folder.
        name: The checkpoint's folder name (``step_N`` / ``epoch_N``).
        state: JSON-able loop state, stored as ``trainer_state.json``.
        total_limit: Keep only the newest N complete checkpoints. Default ``None`` (keep all).

    Raises:
        CheckpointError: A file could not be written (a full disk...): the temporary folder is
            removed and the previous checkpoints and ``latest`` are left as they were.
    """
    final = os.path.join(output_dir, name)
    tmp = os.path.join(output_dir, TMP_PREFIX + name)
    errors: List[Exception] = []

    def attempt(action: Any) -> bool:
        try:
            action()
        except Exception as err:  # a full disk is an OSError here, a RuntimeError in torch.save, ...
            errors.append(err)
            return False
        return True

    def start() -> None:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)

    def finish() -> None:
        atomic_write_text(os.path.join(tmp, STATE_FILE), json.dumps(state, indent=2))
        _replace_dir(tmp, final)
        atomic_write_text(os.path.join(output_dir, LATEST_FILE), name + "\n")

    # every process takes the same branches: each all_ok is one collective call on all of them
    ok = all_ok(accelerator, attempt(start) if accelerator.is_main_process else True)
    if ok:
        ok = all_ok(accelerator, attempt(lambda: accelerator.save_state(tmp, safe_serialization=True)))
    if ok:
        ok = all_ok(accelerator, attempt(finish) if accelerator.is_main_process else True)
    if not ok:
        if accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        reason = _reason(errors[0]) if errors else "another process could not write its files"
        raise CheckpointError(f"could not save checkpoint {name!r} in {output_dir}: {reason}. The partial files "
                              f"were removed; the previous checkpoints and {LATEST_FILE!r} are unchanged")
    if accelerator.is_main_process and total_limit:
        dated = sorted((int(read_state(p)["completed_steps"]), int(read_state(p)["epoch"]), p)
                       for p in _candidates(output_dir) if checkpoint_problem(p) is None)
        for _, _, old in dated[:-total_limit]:
            if os.path.abspath(old) != os.path.abspath(final):
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def save_model_atomic(model: nn.Module, directory: str, processor: Any = None) -> None:
    """``save_pretrained`` (and the processor's) into a temporary sibling folder, then rename it to ``directory``.

    Raises:
        CheckpointError: Writing failed (a full disk...): the temporary folder is removed and
            ``directory`` is left as it was.
    """
    tmp = directory.rstrip("/\\") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        if processor is not None:
            processor.save_pretrained(tmp)
        _replace_dir(tmp, directory)
    except Exception as err:  # a full disk is an OSError here, a SafetensorError in safetensors, ...
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"could not save {directory}: {_reason(err)}. The partial files were removed; the "
                              "previous copy is unchanged") from err


def save_best(accelerator: Any, model: nn.Module, output_dir: str, hook: EvalHook, processor: Any = None) -> None:
    """Save the new best weights as ``<output_dir>/best_model``, then ``best.json`` (main process).

    ``best.json`` is written only once ``best_model`` is complete, so the two always agree.

    Raises:
        CheckpointError: On every process, when the main process could not write them.
    """
    errors: List[Exception] = []
    if accelerator.is_main_process:
        try:
            save_model_atomic(accelerator.unwrap_model(model), os.path.join(output_dir, BEST_DIR), processor)
            hook.write_best(output_dir)
        except (CheckpointError, OSError) as err:
            errors.append(err)
    if not all_ok(accelerator, not errors):
        if errors and not isinstance(errors[0], CheckpointError):
            raise CheckpointError(f"could not write {os.path.join(output_dir, BEST_FILE)}: {_reason(errors[0])}")
        raise errors[0] if errors else CheckpointError(f"the main process could not save {BEST_DIR} in {output_dir}")
