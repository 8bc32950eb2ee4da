"""Tiny BMN for the common model tests: 8 snippets of 16-channel features."""

import torch

CONFIG = dict(temporal_dim=8, feat_dim=16, num_samples=4, num_samples_per_bin=2, hidden_dim_1d=16,
              hidden_dim_2d=8, hidden_dim_3d=16, post_process_top_k=5)


def inputs():
    return {"input_features": torch.randn(2, 16, 8)}


def labels():
    return [torch.tensor([[0.1, 0.4]]), torch.tensor([[0.2, 0.5], [0.6, 0.9]])]
