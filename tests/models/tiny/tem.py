"""Tiny TEM for the common model tests: 10 snippets of 16-channel features."""

import torch

CONFIG = dict(temporal_dim=10, tem_feat_dim=16, tem_hidden_dim=8, post_process_top_k=6)


def inputs():
    return {"input_features": torch.randn(2, 16, 10)}


def labels():
    return [torch.tensor([[0.1, 0.4]]), torch.tensor([[0.2, 0.5], [0.6, 0.9]])]
