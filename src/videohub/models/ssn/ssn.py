"""Structured Segment Networks: ``SSN``, ``SSNHead`` and the STPP consensus modules."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers import losses_localization  # noqa: F401  (registers SSNLoss)
from ...layers.init import normal_init
from ...modeling_localizer import BaseLocalizer, cfg_get
from ...registry import HEADS, LOCALIZERS, LOSSES

StageCfg = Union[int, Tuple[int, ...]]


def parse_stage_config(stage_cfg: StageCfg) -> Tuple[Tuple[int, ...], int]:
    """``(parts, number of multipliers)`` of one STPP stage config (an int or a tuple of ints)."""
    if isinstance(stage_cfg, int):
        return (stage_cfg,), stage_cfg
    if isinstance(stage_cfg, (tuple, list)):
        return tuple(stage_cfg), sum(stage_cfg)
    raise ConfigError(f"Incorrect STPP config {stage_cfg!r}: expected an int or a tuple of ints")


class STPPTrain(nn.Module):
    """Structured temporal pyramid pooling at training time.

    Args:
        stpp_stage: Parts of the starting, course and ending stages. Default ``(1, (1, 2), 1)``.
        num_segments_list: Segments sampled per stage. Default ``(2, 5, 2)``.
    """

    def __init__(self, stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1), num_segments_list: Sequence[int] = (2, 5, 2)):
        super().__init__()
        parsed = [parse_stage_config(stpp_stage[i]) for i in range(3)]
        self.num_multipliers = sum(m for _, m in parsed)
        self.stpp_stages = tuple(p for p, _ in parsed)
        self.multiplier_list = tuple(m for _, m in parsed)
        self.num_segments_list = tuple(num_segments_list)

    @staticmethod
    def _extract_stage_feature(stage_feat: torch.Tensor, stage_parts: Sequence[int], num_multipliers: int,
                               scale_factors: Optional[torch.Tensor], num_samples: int) -> List[torch.Tensor]:
        feats = []
        stage_len = stage_feat.size(1)
        for stage_part in stage_parts:
            ticks = torch.arange(0, stage_len + 1e-5, stage_len / stage_part).int()
            for i in range(stage_part):
                part_feat = stage_feat[:, ticks[i]:ticks[i + 1], :].mean(dim=1) / num_multipliers
                if scale_factors is not None:
                    part_feat = part_feat * scale_factors.view(num_samples, 1)
                feats.append(part_feat)
        return feats

    def forward(self, x: torch.Tensor, scale_factors: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``x [P * S, C]`` and ``scale_factors [..., 2]`` → (course feature ``[P, C]``, STPP feature)."""
        x0 = self.num_segments_list[0]
        x1 = x0 + self.num_segments_list[1]
        num_segments = x1 + self.num_segments_list[2]
        if x.dim() != 2 or x.size(0) % num_segments:
            raise ShapeError(f"STPPTrain expects [P * {num_segments}, C] features, got {tuple(x.shape)}")
        x = x.view(-1, num_segments, x.size(1))
        num_samples = x.size(0)
        scale_factors = scale_factors.view(-1, 2)
        feats = self._extract_stage_feature(x[:, :x0, :], self.stpp_stages[0], self.multiplier_list[0],
                                            scale_factors[:, 0], num_samples)
        feats += self._extract_stage_feature(x[:, x0:x1, :], self.stpp_stages[1], self.multiplier_list[1], None,
                                             num_samples)
        feats += self._extract_stage_feature(x[:, x1:, :], self.stpp_stages[2], self.multiplier_list[2],
                                             scale_factors[:, 1], num_samples)
        return x[:, x0:x1, :].mean(dim=1), torch.cat(feats, dim=1)


class STPPTest(nn.Module):
    """Structured temporal pyramid pooling of per-tick ``test_fc`` scores at test time.

    Args:
        num_classes: Number of action classes.
        use_regression: Whether regression scores are pooled too. Default ``True``.
        stpp_stage: As in :class:`STPPTrain`. Default ``(1, (1, 2), 1)``.
    """

    def __init__(self, num_classes: int, use_regression: bool = True,
                 stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1)):
        super().__init__()
        self.activity_score_len = num_classes + 1
        self.complete_score_len = num_classes
        self.reg_score_len = num_classes * 2
        self.use_regression = use_regression
        parsed = [parse_stage_config(stpp_stage[i]) for i in range(3)]
        self.num_multipliers = sum(m for _, m in parsed)
        per_part = self.complete_score_len + (self.reg_score_len if use_regression else 0)
        self.feat_dim = self.activity_score_len + self.num_multipliers * per_part
        self.stpp_stage = tuple(p for p, _ in parsed)
        self.activity_slice = slice(0, self.activity_score_len)
        self.complete_slice = slice(self.activity_slice.stop,
                                    self.activity_slice.stop + self.complete_score_len * self.num_multipliers)
        self.reg_slice = slice(self.complete_slice.stop,
                               self.complete_slice.stop + self.reg_score_len * self.num_multipliers)

    @staticmethod
    def _pyramids_pooling(out_scores: torch.Tensor, index: int, raw_scores: torch.Tensor, ticks: torch.Tensor,
                          scale_factors: torch.Tensor, score_len: int,
                          stpp_stage: Sequence[Sequence[int]]) -> torch.Tensor:
        offset = 0
        for stage_idx, stage_cfg in enumerate(stpp_stage):
            if stage_idx == 0:
                scale_factor = scale_factors[0]
            elif stage_idx == len(stpp_stage) - 1:
                scale_factor = scale_factors[1]
            else:
                scale_factor = 1.0
            sum_parts = sum(stage_cfg)
            tick_left = ticks[stage_idx]
            tick_right = float(max(ticks[stage_idx] + 1, ticks[stage_idx + 1]))
            if tick_right <= 0 or tick_left >= raw_scores.size(0):
                offset += sum_parts
                continue
            for num_parts in stage_cfg:
                part_ticks = torch.arange(tick_left, tick_right + 1e-5, (tick_right - tick_left) / num_parts).int()
                for i in range(num_parts):
                    left, right = part_ticks[i], part_ticks[i + 1]
                    if right - left >= 1:
                        raw = raw_scores[left:right, offset * score_len:(offset + 1) * score_len]
                        out_scores[index, :] += (raw.mean(dim=0) * scale_factor).detach().cpu()
                    offset += 1
        return out_scores

    def forward(self, x: torch.Tensor, proposal_ticks: torch.Tensor,
                scale_factors: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Per-tick scores ``[num_ticks, feat_dim]`` → activity, completeness and regression per proposal."""
        if x.dim() != 2 or x.size(1) != self.feat_dim:
            raise ShapeError(f"STPPTest expects [num_ticks, {self.feat_dim}] scores, got {tuple(x.shape)}")
        num_props = proposal_ticks.size(0)
        out_activity = torch.zeros((num_props, self.activity_score_len), dtype=x.dtype)
        raw_activity = x[:, self.activity_slice]
        out_complete = torch.zeros((num_props, self.complete_score_len), dtype=x.dtype)
        raw_complete = x[:, self.complete_slice]
        out_reg = torch.zeros((num_props, self.reg_score_len), dtype=x.dtype) if self.use_regression else None
        raw_reg = x[:, self.reg_slice] if self.use_regression else None
        for i in range(num_props):
            ticks = proposal_ticks[i]
            out_activity[i, :] = raw_activity[ticks[1]:max(ticks[1] + 1, ticks[2]), :].mean(dim=0)
            out_complete = self._pyramids_pooling(out_complete, i, raw_complete, ticks, scale_factors[i],
                                                  self.complete_score_len, self.stpp_stage)
            if self.use_regression:
                out_reg = self._pyramids_pooling(out_reg, i, raw_reg, ticks, scale_factors[i], self.reg_score_len,
                                                 self.stpp_stage)
        return out_activity, out_complete, out_reg


@HEADS.register()
class SSNHead(nn.Module):
    """The SSN classification head (activity, completeness and regression fcs).

    Args:
        dropout_ratio: Dropout probability. Default 0.8.
        in_channels: Feature channels. Default 1024.
        num_classes: Action classes (without background). Default 20.
        consensus: ``STPPTrain`` or ``STPPTest`` config. Default mmaction2's
            ``dict(type="STPPTrain", standalong_classifier=True, stpp_cfg=(1, 1, 1), num_seg=(2, 5, 2))``.
            Its legacy keys are read as ``stpp_cfg`` → ``stpp_stage``, ``num_seg`` →
            ``num_segments_list``, and ``standalong_classifier`` is ignored (mmaction2 itself cannot
            build that default: its STPP modules take only the new names).
        use_regression: Predict boundary regression. Default ``True``.
        init_std: Std of the normal init of the fcs. Default 0.001.
    """

    def __init__(self, dropout_ratio: float = 0.8, in_channels: int = 1024, num_classes: int = 20,
                 consensus: Dict[str, Any] = dict(type="STPPTrain", standalong_classifier=True, stpp_cfg=(1, 1, 1),
                                                  num_seg=(2, 5, 2)),
                 use_regression: bool = True, init_std: float = 0.001):
        super().__init__()
        self.dropout_ratio = dropout_ratio
        self.num_classes = num_classes
        self.use_regression = use_regression
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        consensus_ = dict(consensus)
        consensus_type = consensus_.pop("type", None)
        consensus_.pop("standalong_classifier", None)
        for legacy, name in (("stpp_cfg", "stpp_stage"), ("num_seg", "num_segments_list")):
            if legacy in consensus_:
                consensus_.setdefault(name, consensus_.pop(legacy))
        if consensus_type == "STPPTrain":
            self.consensus = STPPTrain(**consensus_)
        elif consensus_type == "STPPTest":
            consensus_["num_classes"] = num_classes
            consensus_.setdefault("use_regression", use_regression)
            self.consensus = STPPTest(**consensus_)
        else:
            raise ConfigError(f"SSNHead consensus type must be 'STPPTrain' or 'STPPTest', got {consensus_type!r}")
        self.in_channels_activity = in_channels
        self.in_channels_complete = self.consensus.num_multipliers * in_channels
        self.activity_fc = nn.Linear(in_channels, num_classes + 1)
        self.completeness_fc = nn.Linear(self.in_channels_complete, num_classes)
        if use_regression:
            self.regressor_fc = nn.Linear(self.in_channels_complete, num_classes * 2)

    def init_weights(self) -> None:
        """Normal(0, ``init_std``) weights and zero biases."""
        normal_init(self.activity_fc, std=self.init_std)
        normal_init(self.completeness_fc, std=self.init_std)
        if self.use_regression:
            normal_init(self.regressor_fc, std=self.init_std)

    def fused_test_fc(self, stpp_feat_multiplier: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias of the three fcs fused into one applied per tick (completeness/regression per part)."""
        in_features = self.activity_fc.in_features

        def split(fc: nn.Linear) -> Tuple[torch.Tensor, torch.Tensor]:
            weight = fc.weight.view(fc.out_features, stpp_feat_multiplier, in_features)
            weight = weight.transpose(0, 1).contiguous().view(-1, in_features)
            bias = fc.bias.view(1, -1).expand(stpp_feat_multiplier, fc.out_features).contiguous().view(-1)
            return weight, bias / stpp_feat_multiplier

        complete_weight, complete_bias = split(self.completeness_fc)
        weight = torch.cat((self.activity_fc.weight, complete_weight))
        bias = torch.cat((self.activity_fc.bias, complete_bias))
        if self.use_regression:
            reg_weight, reg_bias = split(self.regressor_fc)
            weight = torch.cat((weight, reg_weight))
            bias = torch.cat((bias, reg_bias))
        return weight, bias

    def prepare_test_fc(self, stpp_feat_multiplier: int) -> bool:
        """Fuse the three fcs into the ``test_fc`` layer applied per tick (see :meth:`fused_test_fc`)."""
        weight, bias = self.fused_test_fc(stpp_feat_multiplier)
        self.test_fc = nn.Linear(weight.shape[1], weight.shape[0])
        self.test_fc.weight.data = weight.detach()
        self.test_fc.bias.data = bias.detach()
        return True

    def forward(self, x: Tuple[torch.Tensor, ...], test_mode: bool = False):
        """Train: ``(feat, scale_factor)`` → (activity, completeness, bbox_preds ``[P, C, 2]`` or None).
        Test: ``(tick_feat, proposal_ticks, scale_factors)`` → (test_scores, activity, completeness, reg)."""
        if not test_mode:
            feat, proposal_scale_factor = x
            activity_feat, completeness_feat = self.consensus(feat, proposal_scale_factor)
            if self.dropout is not None:
                activity_feat = self.dropout(activity_feat)
                completeness_feat = self.dropout(completeness_feat)
            activity_scores = self.activity_fc(activity_feat)
            complete_scores = self.completeness_fc(completeness_feat)
            bbox_preds = None
            if self.use_regression:
                bbox_preds = self.regressor_fc(completeness_feat).view(-1, self.completeness_fc.out_features, 2)
            return activity_scores, complete_scores, bbox_preds
        feat, proposal_tick_list, scale_factor_list = x
        if not hasattr(self, "test_fc"):
            raise ConfigError("SSNHead test mode needs prepare_test_fc() to be called first")
        test_scores = self.test_fc(feat)
        activity, completeness, bbox_preds = self.consensus(test_scores, proposal_tick_list, scale_factor_list)
        return test_scores, activity, completeness, bbox_preds


@LOCALIZERS.register()
class SSN(BaseLocalizer):
    """Structured Segment Network for temporal action detection.

    Args:
        backbone: Backbone config (a 2D backbone whose map is 7x7).
        cls_head: :class:`SSNHead` config.
        in_channels: Input image channels. Default 3.
        spatial_type: ``"avg"`` (default) or ``"max"`` 7x7 pooling; anything else: none.
        dropout_ratio: Dropout on the pooled features. Default 0.5.
        loss_cls: Loss config. Default ``dict(type="SSNLoss")``.
        train_cfg: Training config (``ssn.sampler``, ``ssn.loss_weight``). Default ``None``.
        test_cfg: Testing config (``ssn.sampler.batch_size``). Default ``None``.
    """

    def __init__(self, backbone: Dict[str, Any], cls_head: Dict[str, Any], in_channels: int = 3,
                 spatial_type: str = "avg", dropout_ratio: float = 0.5,
                 loss_cls: Dict[str, Any] = dict(type="SSNLoss"), train_cfg: Optional[Any] = None,
                 test_cfg: Optional[Any] = None):
        super().__init__(backbone, cls_head, train_cfg, test_cfg)
        self.is_test_prepared = False
        self.in_channels = in_channels
        self.spatial_type = spatial_type
        if spatial_type == "avg":
            self.pool = nn.AvgPool2d((7, 7), stride=1, padding=0)
        elif spatial_type == "max":
            self.pool = nn.MaxPool2d((7, 7), stride=1, padding=0)
        else:
            self.pool = None
        self.dropout_ratio = dropout_ratio
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.loss_cls = LOSSES.build(loss_cls)

    def _forward(self, imgs: torch.Tensor, proposal_scale_factor: torch.Tensor):
        """``imgs [B, P, S, C, H, W]`` → (activity, completeness, bbox_preds) of the training path."""
        if imgs.dim() < 5 or imgs.size(3) != self.in_channels:
            raise ShapeError(f"SSN expects [B, P, S, {self.in_channels}, H, W] images, got {tuple(imgs.shape)}")
        x = self.extract_feat(imgs.reshape((-1, self.in_channels) + imgs.shape[4:]))
        if self.pool:
            x = self.pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.cls_head((x.flatten(1) if x.dim() > 2 else x, proposal_scale_factor))

    def forward_train(self, imgs: torch.Tensor, proposal_scale_factor: torch.Tensor, proposal_type: torch.Tensor,
                      proposal_labels: torch.Tensor, reg_targets: torch.Tensor, **kwargs) -> Dict[str, torch.Tensor]:
        """The :class:`SSNLoss` dict."""
        activity, completeness, bbox_preds = self._forward(imgs, proposal_scale_factor)
        return dict(**self.loss_cls(activity, completeness, bbox_preds, proposal_type, proposal_labels,
                                    reg_targets, self.train_cfg))

    def tick_features(self, imgs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features ``[num_ticks, C]`` of ``imgs [num_crops, num_ticks, ...]`` (crops averaged),
        in chunks of ``test_cfg.ssn.sampler.batch_size`` ticks."""
        num_crops = imgs.shape[0]
        imgs = imgs.reshape((num_crops, -1, self.in_channels) + imgs.shape[3:])
        num_ticks = imgs.shape[1]
        sampler = cfg_get(cfg_get(self.test_cfg, "ssn", "SSN test_cfg"), "sampler", "SSN test_cfg.ssn")
        minibatch_size = cfg_get(sampler, "batch_size", "SSN test_cfg.ssn.sampler")
        output = []
        for idx in range(0, num_ticks, minibatch_size):
            chunk = imgs[:, idx:idx + minibatch_size].reshape((-1,) + imgs.shape[2:])
            x = self.extract_feat(chunk)
            if self.pool:
                x = self.pool(x)
            output.append(x.reshape((num_crops, x.size(0) // num_crops, -1)).mean(dim=0))
        return torch.cat(output, dim=0)

    @staticmethod
    def denormalize_regression(bbox_preds: torch.Tensor, num_classes: int,
                               reg_norm_consts: torch.Tensor) -> torch.Tensor:
        """``[P, num_classes, 2]`` regression ``pred * std + mean`` per column (``reg_norm_consts`` rows mean, std)."""
        bbox_preds = bbox_preds.reshape(-1, num_classes, 2).clone()
        bbox_preds[:, :, 0] = bbox_preds[:, :, 0] * reg_norm_consts[1, 0] + reg_norm_consts[0, 0]
        bbox_preds[:, :, 1] = bbox_preds[:, :, 1] * reg_norm_consts[1, 1] + reg_norm_consts[0, 1]
        return bbox_preds

    def forward_test(self, imgs: torch.Tensor, relative_proposal_list: torch.Tensor, scale_factor_list: torch.Tensor,
                     proposal_tick_list: torch.Tensor, reg_norm_consts: torch.Tensor, **kwargs) -> List[Dict[str, Any]]:
        """Per-tick features in chunks of ``test_cfg.ssn.sampler.batch_size``, fused fc, STPP pooling."""
        output = self.tick_features(imgs)
        relative_proposal_list = relative_proposal_list.squeeze(0)
        proposal_tick_list = proposal_tick_list.squeeze(0)
        scale_factor_list = scale_factor_list.squeeze(0)
        reg_norm_consts = reg_norm_consts.squeeze(0)
        if not self.is_test_prepared:
            self.is_test_prepared = self.cls_head.prepare_test_fc(self.cls_head.consensus.num_multipliers)
        _, activity, completeness, bbox_preds = self.cls_head(
            (output, proposal_tick_list, scale_factor_list), test_mode=True)
        if bbox_preds is not None:
            bbox_preds = self.denormalize_regression(bbox_preds, self.cls_head.num_classes, reg_norm_consts).numpy()
        return [dict(relative_proposal_list=relative_proposal_list.cpu().numpy(),
                     activity_scores=activity.cpu().numpy(), completeness_scores=completeness.cpu().numpy(),
                     bbox_preds=bbox_preds)]
