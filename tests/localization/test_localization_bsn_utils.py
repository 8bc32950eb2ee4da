"""BSN proposal generation and BSP features against loops over the TEM/PGM CSV files."""

import numpy as np
import pytest

from videohub.errors import AnnotationError, ConfigError, ShapeError
from videohub.localization import generate_bsp_feature, generate_candidate_proposals

SCALE = 20


@pytest.fixture()
def bsn_files(tmp_path):
    rng = np.random.default_rng(0)
    tem_dir, pgm_dir = tmp_path / "tem", tmp_path / "pgm"
    tem_dir.mkdir()
    pgm_dir.mkdir()
    infos = []
    for v in range(2):
        name = f"v_video{v}"
        scores = rng.random((SCALE, 3)).round(3)
        scores[5, 1] = scores[6, 1]  # a plateau: not a local peak
        tmin = np.arange(SCALE) / SCALE
        table = np.concatenate([scores, tmin[:, None], (tmin + 1 / SCALE)[:, None]], axis=1)
        np.savetxt(tem_dir / f"{name}.csv", table, fmt="%.6f", delimiter=",", header="action,start,end,tmin,tmax",
                   comments="")
        starts = rng.random(12) * 0.7
        pgm = np.stack([starts, starts + rng.random(12) * 0.3 + 0.02, rng.random(12), rng.random(12)], axis=1)
        np.savetxt(pgm_dir / f"{name}.csv", pgm, fmt="%.6f", delimiter=",", header="tmin,tmax,a,b", comments="")
        infos.append({"video_name": name, "duration_frame": 1000, "duration_second": 40.0, "feature_frame": 960,
                      "annotations": [{"segment": [4.0, 12.5], "label": "x"}, {"segment": [20.0, 33.0], "label": "y"}]})
    return str(tem_dir), str(pgm_dir), infos


def _candidates_loop(tem_path, info, scale, peak_threshold):
    tem = np.loadtxt(tem_path, dtype=np.float32, delimiter=",", skiprows=1)
    gap = 1.0 / scale
    picked = {}
    for column in (1, 2):
        scores = tem[:, column]
        best = max(scores)
        marks = [0 < i < scale - 1 and ((scores[i] > scores[i + 1] and scores[i] > scores[i - 1])
                                        or scores[i] > peak_threshold * best) for i in range(scale)]
        marks[0] = marks[scale - 1] = True
        picked[column] = [(gap / 2 + gap * i, scores[i]) for i in range(scale) if marks[i]]
    rows = [[tmin, tmax, smin, smax] for tmax, smax in picked[2] for tmin, smin in picked[1] if tmin < tmax]
    rows = np.array(rows, dtype=np.float64)  # the score product is taken in float64, as in mmaction2
    rows = np.concatenate([rows, rows[:, 2:3] * rows[:, 3:4]], axis=1)
    rows = rows[rows[:, 4].argsort()[::-1]]
    seconds = float(info["feature_frame"]) / info["duration_frame"] * info["duration_second"]
    gts = [(a["segment"][0] / seconds, a["segment"][1] / seconds) for a in info["annotations"]]
    extra = []
    for tmin, tmax in rows[:, :2]:
        inters = [max(min(tmax, g1) - max(tmin, g0), 0.0) for g0, g1 in gts]
        extra.append([max(i / (tmax - tmin - i + g1 - g0) for i, (g0, g1) in zip(inters, gts)),
                      max(i / (tmax - tmin) for i in inters)])
    return np.concatenate([rows, np.array(extra)], axis=1)


def test_generate_candidate_proposals_against_loop(bsn_files):
    tem_dir, _, infos = bsn_files
    stored = {}
    out = generate_candidate_proposals([0, 1], infos, tem_dir, SCALE, 0.5, result_dict=stored)
    assert list(out) == ["v_video0", "v_video1"] and stored.keys() == out.keys()
    for info in infos:
        expected = _candidates_loop(f"{tem_dir}/{info['video_name']}.csv", info, SCALE, 0.5)
        assert out[info["video_name"]].shape == expected.shape and expected.shape[1] == 7
        np.testing.assert_allclose(out[info["video_name"]], expected, rtol=1e-12)


def _bsp_loop(tem_path, pgm_path, top_k, ratio, n_start, n_end, n_action, n_interp):
    tem = np.loadtxt(tem_path, dtype=np.float32, delimiter=",", skiprows=1)
    pgm = np.loadtxt(pgm_path, dtype=np.float32, delimiter=",", skiprows=1)[:top_k]
    scale = len(tem)
    gap = tem[0, 4] - tem[0, 3]
    extend = int(scale / 4 + 10)
    action = np.concatenate([np.zeros(extend), tem[:, 0], np.zeros(extend)])
    points = ([-gap / 2 - (extend - 1 - i) * gap for i in range(extend)] + [gap / 2 + i * gap for i in range(scale)]
              + [gap / 2 + tem[-1, 4] + i * gap for i in range(extend)])

    def region(low, high, n):
        step = (high - low) / (n - 1)
        sub = step / n_interp
        values = np.interp([low - step / 2 + sub * i for i in range(n * n_interp + 1)], points, action)
        return [np.mean(values[i * n_interp:(i + 1) * n_interp + 1]) for i in range(n)]

    features = []
    for tmin, tmax in pgm[:, :2]:
        length = tmax - tmin
        features.append(region(tmin, tmax, n_action)
                        + region(tmin - length * ratio, tmin + length * ratio, n_start)
                        + region(tmax - length * ratio, tmax + length * ratio, n_end))
    return np.array(features)


@pytest.mark.parametrize("top_k,n_interp", [(1000, 3), (5, 2)])
def test_generate_bsp_feature_against_loop(bsn_files, top_k, n_interp):
    tem_dir, pgm_dir, infos = bsn_files
    out = generate_bsp_feature([1], infos, tem_dir, pgm_dir, top_k=top_k, num_sample_interp=n_interp)
    expected = _bsp_loop(f"{tem_dir}/v_video1.csv", f"{pgm_dir}/v_video1.csv", top_k, 0.2, 8, 8, 16, n_interp)
    assert out["v_video1"].shape == (min(top_k, 12), 32)
    np.testing.assert_allclose(out["v_video1"], expected, rtol=1e-12, atol=1e-15)


def test_bsn_errors(bsn_files, tmp_path):
    tem_dir, pgm_dir, infos = bsn_files
    with pytest.raises(ConfigError, match="tem_results_ext"):
        generate_candidate_proposals([0], infos, tem_dir, SCALE, 0.5, tem_results_ext=".json")
    with pytest.raises(ConfigError, match="pgm_proposal_ext"):
        generate_bsp_feature([0], infos, tem_dir, pgm_dir, pgm_proposal_ext=".npy")
    with pytest.raises(ShapeError, match="expected temporal_scale=40"):
        generate_candidate_proposals([0], infos, tem_dir, 40, 0.5)
    no_gt = [dict(infos[0], annotations=[])]
    with pytest.raises(AnnotationError, match="no annotations"):
        generate_candidate_proposals([0], no_gt, tem_dir, SCALE, 0.5)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "v_video0.csv").write_text("action,start,end,tmin,tmax\n0.1,zz,0.3,0,0.05\n")
    with pytest.raises(AnnotationError, match="v_video0.csv"):
        generate_candidate_proposals([0], infos, str(tmp_path / "broken"), SCALE, 0.5)
