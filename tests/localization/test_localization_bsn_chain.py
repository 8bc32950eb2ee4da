"""The documented BSN chain: TEM → TEM CSVs → PGM proposals (CSVs) → BSP features → PEM → proposals."""

import numpy as np
import torch

from videohub.localization import generate_bsp_feature, generate_candidate_proposals, write_pgm_proposals
from videohub.metrics.dataset_evaluation import dump_activitynet_results
from videohub.models.pem import PEMConfig, PEMForTemporalActionLocalization
from videohub.models.tem import TEMConfig, TEMForTemporalActionLocalization


def test_bsn_chain_runs_in_the_reference_layout(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    rows = [{"video_name": f"v_{i}", "raw_feature": rng.standard_normal((8, 20)).astype(np.float32),
             "duration_second": 10.0, "duration_frame": 320, "feature_frame": 320,
             "annotations": [{"segment": [2.0, 6.0], "label": "a"}]} for i in range(2)]
    tem = TEMForTemporalActionLocalization(TEMConfig(temporal_dim=20, tem_feat_dim=8, tem_hidden_dim=8,
                                                     conv3_ratio=1.0)).eval()
    with torch.no_grad():
        results = tem.localizer(torch.as_tensor(np.stack([r["raw_feature"] for r in rows])),
                                video_meta=[{"video_name": r["video_name"]} for r in rows], return_loss=False)
    dump_activitynet_results(results, str(tmp_path / "tem_results"), "csv")
    header = (tmp_path / "tem_results" / "v_0.csv").read_text().splitlines()[0]
    assert header == "action,start,end,tmin,tmax"

    infos = [dict(r) for r in rows]
    proposals = generate_candidate_proposals(range(2), infos, str(tmp_path / "tem_results"), 20, peak_threshold=0.5)
    write_pgm_proposals(proposals, str(tmp_path / "pgm_proposals"))
    written = np.loadtxt(tmp_path / "pgm_proposals" / "v_1.csv", delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(written, proposals["v_1"], rtol=1e-7)
    features = generate_bsp_feature(range(2), infos, str(tmp_path / "tem_results"), str(tmp_path / "pgm_proposals"),
                                    top_k=10)
    assert features["v_0"].shape == (min(10, len(proposals["v_0"])), 32)

    pem = PEMForTemporalActionLocalization(PEMConfig(pem_feat_dim=32, pem_hidden_dim=8, post_process_top_k=5)).eval()
    name = "v_0"
    bsp, candidates = features[name], proposals[name][:len(features[name])]
    columns = {k: torch.as_tensor(candidates[None, :, j]) for j, k in enumerate(("tmin", "tmax", "tmin_score",
                                                                                   "tmax_score"))}
    with torch.no_grad():
        out = pem(input_features=torch.as_tensor(bsp[None], dtype=torch.float32), **columns)
    video = pem.post_process(out, [infos[0]])[0]
    reference = pem.localizer(torch.as_tensor(bsp[None], dtype=torch.float32), return_loss=False, video_meta=[infos[0]],
                              **columns)[0]["proposal_list"]
    assert video == reference and 1 <= len(video) <= 5
