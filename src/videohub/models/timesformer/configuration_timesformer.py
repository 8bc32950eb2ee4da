"""TimeSformer configuration: ``TimeSformer`` backbone + ``TimeSformerHead`` in a ``Recognizer3D``."""

from __future__ import annotations

from typing import Any, Dict, Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig, field_default
from ...errors import ConfigError


@strict(accept_kwargs=True)
class TimeSformerConfig(RecognizerConfig):
    r"""TimeSformer (mmaction2 ``Recognizer3D`` + ``TimeSformer`` + ``TimeSformerHead``).

    Defaults are mmaction2's ``timesformer_divST_8x32x1_15e_kinetics400_rgb`` (ViT-B/16 at 224):
    ``backbone=dict(type="TimeSformer", num_frames=8, img_size=224, patch_size=16, embed_dims=768,
    in_channels=3, dropout_ratio=0.0, transformer_layers=None, attention_type="divided_space_time",
    norm_cfg=dict(type="LN", eps=1e-6))``, ``cls_head=dict(type="TimeSformerHead", in_channels=768)``,
    ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=8``. The jointST and
    spaceOnly models set ``backbone=dict(attention_type="joint_space_time")`` / ``"space_only"``.

    ``num_frames`` and the backbone's ``num_frames`` are one value: give either and the other
    follows (the head's ``in_channels`` follows ``embed_dims``); giving both with different values
    raises :class:`~videohub.errors.ConfigError`. Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-timesformer"
    mmaction2_types = {"backbone": ("TimeSformer",)}
    default_backbone = dict(
        type="TimeSformer", num_frames=8, img_size=224, patch_size=16, embed_dims=768, in_channels=3,
        dropout_ratio=0.0, transformer_layers=None, attention_type="divided_space_time",
        norm_cfg=dict(type="LN", eps=1e-6),
    )
    default_cls_head = dict(type="TimeSformerHead", in_channels=768)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

    def derive(self, kwargs: Dict[str, Any]) -> None:
        super().derive(kwargs)
        backbone = self.backbone if isinstance(self.backbone, dict) else {}
        if backbone.get("type") != "TimeSformer":
            return
        given = (self.given_part("backbone") or {}).get("num_frames")
        frames_given = self.num_frames != field_default(type(self), "num_frames")
        if given is not None and frames_given and given != self.num_frames:
            raise ConfigError(f"{type(self).__name__}: num_frames={self.num_frames} but backbone num_frames={given}; "
                              "TimeSformer's time embedding has one size, give one value")
        if given is not None:
            self.num_frames = given
        else:
            backbone["num_frames"] = self.num_frames
