"""Checks of every localizer (the tiny configs whose config is a ``LocalizerConfig``)."""

import pytest
import torch

import videohub
from videohub.errors import ConfigError
from model_helpers import LOCALIZERS, build, inputs


@pytest.mark.parametrize("arch", LOCALIZERS)
class TestLocalizer:
    def test_auto_class_of_the_task(self, arch, tmp_path):
        model, _ = build(arch)
        model.save_pretrained(tmp_path)
        loaded = videohub.AutoModelForTemporalActionLocalization.from_pretrained(str(tmp_path))
        assert type(loaded) is type(model)
        with pytest.raises(ConfigError, match="no video-classification model"):
            videohub.AutoModelForVideoClassification.from_pretrained(str(tmp_path))

    def test_post_process_gives_sorted_segments_in_seconds(self, arch):
        model, module = build(arch)
        model.eval()
        x = inputs(model, module)
        with torch.no_grad():
            out = model(**x)
        batch = next(iter(x.values())).shape[0]
        metas = [{"duration_frame": 160, "duration_second": 8.0 + i} for i in range(batch)]
        proposals = model.post_process(out, metas)
        assert len(proposals) == batch
        for meta, video in zip(metas, proposals):
            assert 1 <= len(video) <= getattr(model.config, "post_process_top_k", len(video))
            scores = [p["score"] for p in video]
            assert scores == sorted(scores, reverse=True)
            assert all(0 <= p["segment"][0] <= p["segment"][1] <= meta["duration_second"] for p in video)


def test_bmn_post_process_equals_the_mmaction2_test_path():
    """``post_process`` of item 0 is exactly mmaction2's ``BMN.forward_test`` proposal list."""
    model, module = build("bmn")
    model.eval()
    x = module.inputs()["input_features"]
    meta = {"video_name": "v", "duration_frame": 128, "duration_second": 6.4}
    with torch.no_grad():
        ours = model.post_process(model(input_features=x[:1]), [meta])[0]
        reference = model.localizer(x[:1], video_meta=[meta], return_loss=False)[0]["proposal_list"]
    assert ours == reference
