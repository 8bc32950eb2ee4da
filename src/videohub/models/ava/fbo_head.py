"""``FBOHead`` (mmaction2 0.24): feature bank operators fusing RoI features with the LFB.

The operators are ``non_local`` (:class:`FBONonLocal`, a stack of :class:`NonLocalLayer`),
``avg`` (:class:`FBOAvg`) and ``max`` (:class:`FBOMax`). Submodule names are mmaction2's
(``fbo.st_feat_conv``, ``fbo.non_local_layer_1.global_conv.conv``, ``fbo.non_local_layer_1.ln``, ...),
so state dicts load unchanged. The bank itself is :class:`~videohub.models.ava.lfb.LFB`.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from torch import nn

from ...errors import CheckpointError, ConfigError, ShapeError
from ...registry import HEADS
from ...layers.conv import ConvModule
from ...layers.init import constant_init, kaiming_init
from .bbox_head_ava import _pool
from .lfb import LFB


class NonLocalLayer(nn.Module):
    """The non-local layer of :class:`FBONonLocal` (short-term queries, long-term keys/values).

    Args:
        st_feat_channels: Channels of the short-term features.
        lt_feat_channels: Channels of the long-term features.
        latent_channels: Channels of the latent space.
        num_st_feat: Number of short-term features.
        num_lt_feat: Number of long-term features.
        use_scale: Scale the affinities by ``1/sqrt(latent_channels)``. Default ``True``.
        pre_activate: LayerNorm + ReLU before ``out_conv`` (else LayerNorm after it). Default ``True``.
        pre_activate_with_ln: Use the LayerNorm in the pre-activation. Default ``True``.
        conv_cfg: Conv config of the 1x1x1 convs. Default ``None`` (``Conv3d``).
        norm_cfg: Norm config of the convs. Default ``None``.
        dropout_ratio: Dropout on the output. Default 0.2.
        zero_init_out_conv: Zero-init ``out_conv`` in :meth:`init_weights`. Default ``False``.
    """

    def __init__(
        self,
        st_feat_channels: int,
        lt_feat_channels: int,
        latent_channels: int,
        num_st_feat: int,
        num_lt_feat: int,
        use_scale: bool = True,
        pre_activate: bool = True,
        pre_activate_with_ln: bool = True,
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        dropout_ratio: float = 0.2,
        zero_init_out_conv: bool = False,
    ):
        super().__init__()
        conv_cfg = dict(type="Conv3d") if conv_cfg is None else conv_cfg
        self.st_feat_channels = st_feat_channels
        self.lt_feat_channels = lt_feat_channels
        self.latent_channels = latent_channels
        self.num_st_feat = num_st_feat
        self.num_lt_feat = num_lt_feat
        self.use_scale = use_scale
        self.pre_activate = pre_activate
        self.pre_activate_with_ln = pre_activate_with_ln
        self.dropout_ratio = dropout_ratio
        self.zero_init_out_conv = zero_init_out_conv

        def conv(cin: int, cout: int) -> ConvModule:
            return ConvModule(cin, cout, kernel_size=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)

        self.st_feat_conv = conv(st_feat_channels, latent_channels)
        self.lt_feat_conv = conv(lt_feat_channels, latent_channels)
        self.global_conv = conv(lt_feat_channels, latent_channels)
        ln_channels = latent_channels if pre_activate else st_feat_channels
        self.ln = nn.LayerNorm([ln_channels, num_st_feat, 1, 1])
        self.relu = nn.ReLU()
        self.out_conv = conv(latent_channels, st_feat_channels)
        if dropout_ratio > 0:
            self.dropout = nn.Dropout(dropout_ratio)

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Kaiming (fan_out) Conv3d weights, unit BN; zero ``out_conv`` if ``zero_init_out_conv``.

        ``pretrained`` (default ``None``) must be ``None``; load weights with ``load_state_dict``.
        """
        if pretrained is not None:
            raise ConfigError("NonLocalLayer.init_weights: pretrained paths are not loaded here; use load_state_dict")
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                kaiming_init(module)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                constant_init(module, 1)
        if self.zero_init_out_conv:
            constant_init(self.out_conv.conv, 0, bias=0)

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        """``st_feat [N, C_st, num_st, 1, 1]``, ``lt_feat [N, C_lt, num_lt, 1, 1]`` → ``[N, C_st, num_st, 1, 1]``."""
        n, c = st_feat.size(0), self.latent_channels
        theta = self.st_feat_conv(st_feat).view(n, c, self.num_st_feat)
        phi = self.lt_feat_conv(lt_feat).view(n, c, self.num_lt_feat)
        g = self.global_conv(lt_feat).view(n, c, self.num_lt_feat)
        theta_phi = torch.matmul(theta.permute(0, 2, 1), phi)
        if self.use_scale:
            theta_phi = theta_phi / c ** 0.5
        p = theta_phi.softmax(dim=-1)
        out = torch.matmul(g, p.permute(0, 2, 1)).view(n, c, self.num_st_feat, 1, 1)
        if self.pre_activate:
            if self.pre_activate_with_ln:
                out = self.ln(out)
            out = self.relu(out)
        out = self.out_conv(out)
        if not self.pre_activate:
            out = self.ln(out)
        if self.dropout_ratio > 0:
            out = self.dropout(out)
        return out


class FBONonLocal(nn.Module):
    """Non-local feature bank operator.

    Args:
        st_feat_channels: Channels of the short-term features.
        lt_feat_channels: Channels of the long-term features.
        latent_channels: Channels of the latent features.
        num_st_feat: Number of short-term RoI features.
        num_lt_feat: Number of long-term features (``window_size * max_num_sampled_feat``).
        num_non_local_layers: Stacked :class:`NonLocalLayer` (>= 1). Default 2.
        st_feat_dropout_ratio: Dropout of the projected short-term features. Default 0.2.
        lt_feat_dropout_ratio: Dropout of the projected long-term features. Default 0.2.
        pre_activate: See :class:`NonLocalLayer`; ``False`` adds a ReLU after each residual. Default ``True``.
        zero_init_out_conv: Zero-init each layer's ``out_conv``. Default ``False``.
    """

    def __init__(
        self,
        st_feat_channels: int,
        lt_feat_channels: int,
        latent_channels: int,
        num_st_feat: int,
        num_lt_feat: int,
        num_non_local_layers: int = 2,
        st_feat_dropout_ratio: float = 0.2,
        lt_feat_dropout_ratio: float = 0.2,
        pre_activate: bool = True,
        zero_init_out_conv: bool = False,
    ):
        super().__init__()
        if num_non_local_layers < 1:
            raise ConfigError(f"FBONonLocal needs num_non_local_layers >= 1, got {num_non_local_layers}")
        self.st_feat_channels = st_feat_channels
        self.lt_feat_channels = lt_feat_channels
        self.latent_channels = latent_channels
        self.num_st_feat = num_st_feat
        self.num_lt_feat = num_lt_feat
        self.num_non_local_layers = num_non_local_layers
        self.st_feat_dropout_ratio = st_feat_dropout_ratio
        self.lt_feat_dropout_ratio = lt_feat_dropout_ratio
        self.pre_activate = pre_activate
        self.zero_init_out_conv = zero_init_out_conv
        self.st_feat_conv = nn.Conv3d(st_feat_channels, latent_channels, kernel_size=1)
        self.lt_feat_conv = nn.Conv3d(lt_feat_channels, latent_channels, kernel_size=1)
        if st_feat_dropout_ratio > 0:
            self.st_feat_dropout = nn.Dropout(st_feat_dropout_ratio)
        if lt_feat_dropout_ratio > 0:
            self.lt_feat_dropout = nn.Dropout(lt_feat_dropout_ratio)
        if not pre_activate:
            self.relu = nn.ReLU()
        self.non_local_layers: List[str] = []
        for idx in range(num_non_local_layers):
            name = f"non_local_layer_{idx + 1}"
            self.add_module(name, NonLocalLayer(latent_channels, latent_channels, latent_channels, num_st_feat,
                                                num_lt_feat, pre_activate=pre_activate,
                                                zero_init_out_conv=zero_init_out_conv))
            self.non_local_layers.append(name)

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Kaiming init of the two projections and of every layer (``pretrained`` must be ``None``)."""
        if pretrained is not None:
            raise ConfigError("FBONonLocal.init_weights: pretrained paths are not loaded here; use load_state_dict")
        kaiming_init(self.st_feat_conv)
        kaiming_init(self.lt_feat_conv)
        for name in self.non_local_layers:
            getattr(self, name).init_weights()

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        """``[N, C_st, num_st, 1, 1]``, ``[N, C_lt, num_lt, 1, 1]`` → ``[N, latent, num_st, 1, 1]``."""
        st_feat = self.st_feat_conv(st_feat)
        if self.st_feat_dropout_ratio > 0:
            st_feat = self.st_feat_dropout(st_feat)
        lt_feat = self.lt_feat_conv(lt_feat)
        if self.lt_feat_dropout_ratio > 0:
            lt_feat = self.lt_feat_dropout(lt_feat)
        for name in self.non_local_layers:
            out = st_feat + getattr(self, name)(st_feat, lt_feat)
            if not self.pre_activate:
                out = self.relu(out)
            st_feat = out
        return st_feat


class FBOAvg(nn.Module):
    """Average of the long-term features over the bank axis (no parameters)."""

    def __init__(self):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool3d((1, None, None))

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """No parameters to initialize (``pretrained`` is ignored, default ``None``)."""

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        """``lt_feat [N, C, L, 1, 1]`` → ``[N, C, 1, 1, 1]`` (zero rows of the bank included)."""
        return self.avg_pool(lt_feat)


class FBOMax(nn.Module):
    """Maximum of the long-term features over the bank axis (no parameters)."""

    def __init__(self):
        super().__init__()
        self.max_pool = nn.AdaptiveMaxPool3d((1, None, None))

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """No parameters to initialize (``pretrained`` is ignored, default ``None``)."""

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        """``lt_feat [N, C, L, 1, 1]`` → ``[N, C, 1, 1, 1]``."""
        return self.max_pool(lt_feat)


@HEADS.register()
class FBOHead(nn.Module):
    """Feature Bank Operator head: ``cat(pooled RoI feature, FBO(RoI feature, sampled LFB))``.

    Args:
        lfb_cfg: :class:`~videohub.models.ava.lfb.LFB` kwargs (``lfb_prefix_path``, ...).
        fbo_cfg: FBO kwargs with ``type`` in :attr:`fbo_dict` (``"non_local"`` if absent).
        temporal_pool_type: ``"avg"`` (default) or ``"max"``.
        spatial_pool_type: ``"avg"`` or ``"max"`` (default).
        lfb: An already loaded bank to use instead of reading ``lfb_cfg.lfb_prefix_path``
            (videohub addition for in-memory banks). Default ``None``.

    The bank of ``lfb_cfg`` is read when the head is built if its ``lfb_prefix_path`` folder exists,
    else when features are first sampled: the bank is data, not weights, so a converted or
    downloaded FBO model loads (and runs with injected ``lt_feat``) on a machine without it.
    """

    fbo_dict = {"non_local": FBONonLocal, "avg": FBOAvg, "max": FBOMax}

    def __init__(
        self,
        lfb_cfg: Dict[str, Any],
        fbo_cfg: Dict[str, Any],
        temporal_pool_type: str = "avg",
        spatial_pool_type: str = "max",
        lfb: Optional[LFB] = None,
    ):
        super().__init__()
        fbo_cfg = dict(fbo_cfg)
        fbo_type = fbo_cfg.pop("type", "non_local")
        if fbo_type not in self.fbo_dict:
            raise ConfigError(f"FBOHead fbo_cfg type must be one of {sorted(self.fbo_dict)}, got {fbo_type!r}")
        self.lfb_cfg = copy.deepcopy(dict(lfb_cfg))
        self.fbo_cfg = copy.deepcopy(fbo_cfg)
        self._lfb = lfb
        if lfb is None and os.path.isdir(str(self.lfb_cfg.get("lfb_prefix_path"))):
            self._lfb = LFB(**self.lfb_cfg)
        self.fbo = self.fbo_dict[fbo_type](**self.fbo_cfg)
        self.temporal_pool = _pool(temporal_pool_type, (1, None, None), "FBOHead temporal_pool_type")
        self.spatial_pool = _pool(spatial_pool_type, (None, 1, 1), "FBOHead spatial_pool_type")

    @property
    def lfb(self) -> LFB:
        """The long-term feature bank (read from ``lfb_cfg`` on first access)."""
        if self._lfb is None:
            self._lfb = LFB(**self.lfb_cfg)
        return self._lfb

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Initialize the FBO (``pretrained`` must be ``None``, default)."""
        self.fbo.init_weights(pretrained=pretrained)

    def sample_lfb(self, rois: torch.Tensor, img_metas: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Long-term features ``[K, lfb_channels, window_size * K_max, 1, 1]`` of each RoI's image."""
        inds = rois[:, 0].long().tolist()
        for ind in inds:
            if not 0 <= ind < len(img_metas):
                raise ShapeError(f"FBOHead: rois[:, 0] = {ind} but img_metas has {len(img_metas)} entries")
            if "img_key" not in img_metas[ind]:
                raise ShapeError(f"FBOHead: img_metas[{ind}] has no 'img_key' ('<video_id>,<second>'), which "
                                 "selects the long-term features")
        try:
            lt_feat = torch.stack([self.lfb[img_metas[ind]["img_key"]] for ind in inds], dim=0)
        except KeyError as err:
            raise CheckpointError(f"FBOHead: {err.args[0]} (bank {self.lfb.lfb_prefix_path!r}, modes "
                                  f"{list(self.lfb.dataset_modes)}); write the bank of every key frame this model "
                                  "sees (run_detection.py --write_feature_bank)") from None
        return lt_feat.permute(0, 2, 1).contiguous().unsqueeze(-1).unsqueeze(-1)

    def forward(self, x: torch.Tensor, rois: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                lt_feat: Optional[torch.Tensor] = None, **kwargs: Any) -> torch.Tensor:
        """``x [K, C, T, H, W]`` → ``[K, C + C_fbo, 1, 1, 1]``.

        ``lt_feat`` (default ``None``: sampled with :meth:`sample_lfb`) may inject the long-term
        features, e.g. a reference sample.
        """
        if x.dim() != 5:
            raise ShapeError(f"FBOHead expects RoI features [K, C, T, H, W], got {tuple(x.shape)}")
        st_feat = self.spatial_pool(self.temporal_pool(x))
        if lt_feat is None:
            lt_feat = self.sample_lfb(rois, img_metas)
        lt_feat = lt_feat.to(st_feat)
        return torch.cat([st_feat, self.fbo(st_feat, lt_feat)], dim=1)
