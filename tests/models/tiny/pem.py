"""Tiny PEM for the common model tests: 12 candidate proposals of 8-channel BSP features per video."""

import torch

CONFIG = dict(pem_feat_dim=8, pem_hidden_dim=16, post_process_top_k=5, fc1_ratio=1.0, fc2_ratio=1.0)


def inputs():
    tmin = torch.rand(2, 12) * 0.5
    return {"input_features": torch.randn(2, 12, 8), "tmin": tmin, "tmax": tmin + 0.1 + torch.rand(2, 12) * 0.4,
            "tmin_score": torch.rand(2, 12), "tmax_score": torch.rand(2, 12)}


def labels():
    return torch.tensor([[0.9, 0.7, 0.5, 0.3, 0.1, 0.0] * 2] * 2)
