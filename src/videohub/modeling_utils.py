"""``VideoPreTrainedModel``: the ``PreTrainedModel`` base of every videohub model."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_utils import VideoConfig
from .deploy.optimize import optimize_for_inference as optimize
from .model_card import build_model_card


class VideoPreTrainedModel(PreTrainedModel):
    """Base class that ties mmaction2 layers into transformers.

    - Weight init is mmaction2's: each part (backbone, neck, head) runs its own ``init_weights()``
      (kaiming convs, unit norms, ``normal(init_std)`` heads, ``zero_init_residual``, ...).
      transformers guards its init calls, so loading a checkpoint only initializes missing weights.
    - ``frozen_stages``, ``norm_eval`` and ``partial_bn`` live in the backbone's ``train()``.
    - ``gradient_checkpointing_enable()`` switches the ``with_cp`` flag of every block.
    """

    config_class = VideoConfig
    base_model_prefix = "model"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True
    _no_split_modules = []

    def _parts(self) -> Iterable[nn.Module]:
        """The mmaction2 parts owned by this model (backbone, neck, head)."""
        return [m for m in self.modules() if getattr(m, "_videohub_part", False)]

    def _init_weights(self, module: nn.Module) -> None:
        if getattr(module, "_videohub_part", False) and hasattr(module, "init_weights"):
            module.init_weights()

    def _set_gradient_checkpointing(
        self, enable: bool = True, gradient_checkpointing_func: Callable = None, every_n_layers: int = 1
    ) -> None:
        found = False
        for module in self.modules():
            if hasattr(module, "with_cp"):
                module.with_cp = enable
                found = True
        if not found:
            raise ValueError(f"{type(self).__name__} has no block that supports gradient checkpointing (with_cp)")

    @classmethod
    def from_pretrained(cls, *args: Any, optimize_for_inference: Union[bool, Dict[str, Any]] = False, **kwargs: Any):
        """transformers' ``from_pretrained``, with every tensor moved to 64-byte-aligned memory.

        Tensors memory-mapped from a safetensors file can start at unaligned offsets; CPU kernels
        then take another code path and results differ from the saved model in the last bit.
        Copying those tensors makes a loaded model compute exactly what the saved one did.

        Args:
            optimize_for_inference: ``True`` (or a dict of its keyword arguments) returns the model
                in eval mode through :meth:`optimize_for_inference`. Default ``False``.
        """
        model = super().from_pretrained(*args, **kwargs)
        with torch.no_grad():
            for tensor in list(model.parameters()) + list(model.buffers()):
                if tensor.device.type == "cpu" and tensor.data_ptr() % 64:
                    tensor.data = tensor.data.clone()
        if optimize_for_inference:
            options = optimize_for_inference if isinstance(optimize_for_inference, dict) else {}
            model.eval().optimize_for_inference(**options)
        return model

    def optimize_for_inference(self, *, memory_format: str = "auto", fold_bn: bool = True, fuse: bool = True,
                               compile: bool = False) -> "VideoPreTrainedModel":
        """Make this eval-mode model faster for inference, in place; see :func:`videohub.deploy.optimize_for_inference`.

        Folds BatchNorm into the convs (``fold_bn``, default ``True``), picks the faster memory
        format (``memory_format``, default ``"auto"``), fuses conv + ReLU/residual through oneDNN
        on CPU (``fuse``, default ``True``) and optionally compiles (``compile``, default
        ``False``). Refuses a model in training mode. Logits change by at most 1e-5 relative.
        """
        return optimize(self, memory_format=memory_format, fold_bn=fold_bn, fuse=fuse, compile=compile)

    def save_pretrained(self, save_directory: Union[str, os.PathLike], *args: Any, **kwargs: Any):
        """transformers' ``save_pretrained`` plus a ``README.md`` model card when the folder has none."""
        out = super().save_pretrained(save_directory, *args, **kwargs)
        card_path = os.path.join(save_directory, "README.md")
        if not os.path.exists(card_path):
            repo_id = os.path.basename(os.path.abspath(save_directory))
            build_model_card(self.config, repo_id=repo_id).save(card_path)
        return out

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: Optional[str] = None,
        commit_description: Optional[str] = None,
        private: Optional[bool] = None,
        token: Optional[Union[bool, str]] = None,
        revision: Optional[str] = None,
        create_pr: bool = False,
        max_shard_size: Union[int, str] = "50GB",
        tags: Optional[List[str]] = None,
        model_card: Any = None,
    ):
        """Upload weights (safetensors), ``config.json`` and a videohub model card to ``repo_id``.

        Same arguments as transformers' ``push_to_hub``, plus ``model_card`` (a
        ``huggingface_hub.ModelCard``; default: :func:`videohub.model_card.build_model_card`).
        """
        from huggingface_hub import create_repo

        repo_id = create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
        card = model_card or build_model_card(self.config, repo_id=repo_id, tags=tags)
        with tempfile.TemporaryDirectory() as work_dir:
            self.save_pretrained(work_dir, max_shard_size=max_shard_size)
            card.save(os.path.join(work_dir, "README.md"))
            return self._upload_modified_files(
                work_dir, repo_id, {}, commit_message=commit_message or "Upload model", token=token,
                create_pr=create_pr, revision=revision, commit_description=commit_description,
            )

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "with_cp", False) for m in self.modules())


def mark_part(module: nn.Module) -> nn.Module:
    """Flag ``module`` as an mmaction2 part whose ``init_weights()`` initializes it."""
    module._videohub_part = True
    return module
