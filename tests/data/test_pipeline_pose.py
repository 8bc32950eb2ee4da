"""Pose pipeline steps on hand-worked cases (mmaction2 0.24.1 semantics; the golden files have no pose cases)."""

import math

import numpy as np
import pytest

from videohub.data.pipelines.compose import Compose
from videohub.errors import ConfigError, ShapeError
from videohub.registry import PIPELINES


def step(name, **kwargs):
    return PIPELINES.build(dict(type=name, **kwargs))


# ------------------------------------------------------------------------------------------ sampling


def test_uniform_sample_frames_short_video_in_test_mode_loops_from_spread_starts():
    out = step("UniformSampleFrames", clip_len=4, num_clips=2, test_mode=True)(dict(total_frames=3, start_index=0))
    # starts i * 3 // 2 = 0, 1; each clip reads 4 consecutive frames modulo 3
    np.testing.assert_array_equal(out["frame_inds"], [0, 1, 2, 0, 1, 2, 0, 1])
    assert out["clip_len"] == 4 and out["num_clips"] == 2 and out["frame_interval"] is None


def test_uniform_sample_frames_long_video_takes_one_frame_per_segment_reproducibly():
    sampler = step("UniformSampleFrames", clip_len=4, num_clips=3, test_mode=True)
    np.random.seed(1)
    first = sampler(dict(total_frames=16, start_index=1))["frame_inds"]
    np.random.seed(2)  # the test seed (255) is the sampler's own: the global RNG does not matter
    assert np.array_equal(first, sampler(dict(total_frames=16, start_index=1))["frame_inds"])
    clips = first.reshape(3, 4) - 1
    for clip in clips:  # segments [0, 4), [4, 8), [8, 12), [12, 16)
        assert all(4 * i <= f < 4 * i + 4 for i, f in enumerate(clip))
    rng = np.random.RandomState(255)
    expected = [np.array([0, 4, 8, 12]) + rng.randint(np.full(4, 4)) for _ in range(3)]
    np.testing.assert_array_equal(clips, np.stack(expected))


def test_uniform_sample_frames_between_one_and_two_clip_lengths_skips_single_frames():
    np.random.seed(0)
    for _ in range(20):
        inds = step("UniformSampleFrames", clip_len=4)(dict(total_frames=6, start_index=0))["frame_inds"]
        steps = np.diff(inds)
        assert inds[0] in (0, 1, 2) and set(steps) <= {1, 2, 3} and inds[-1] <= 5
        assert inds[0] + (steps - 1).sum() == 2 - (5 - inds[-1])  # 6 - 4 = 2 frames skipped in all


def test_uniform_sample_frames_training_on_a_short_video_loops_from_a_random_start():
    np.random.seed(0)
    starts = set()
    for _ in range(20):
        inds = step("UniformSampleFrames", clip_len=5)(dict(total_frames=2, start_index=0))["frame_inds"]
        assert np.array_equal(inds, (inds[0] + np.arange(5)) % 2)
        starts.add(int(inds[0]))
    assert starts == {0, 1}
    with pytest.raises(ConfigError, match="training samples one clip"):
        step("UniformSampleFrames", clip_len=4, num_clips=2)


def test_padding_with_loop_and_decode():
    results = step("PaddingWithLoop", clip_len=7)(dict(total_frames=3))
    np.testing.assert_array_equal(results["frame_inds"], [0, 1, 2, 0, 1, 2, 0])
    keypoint = np.arange(2 * 3 * 1 * 2, dtype=np.float64).reshape(2, 3, 1, 2)  # M, T, V, C
    score = np.arange(6, dtype=np.float64).reshape(2, 3, 1)
    out = step("PoseDecode")(dict(keypoint=keypoint, keypoint_score=score, frame_inds=np.array([[2], [0]]), offset=0))
    assert out["keypoint"].dtype == np.float32 and out["keypoint"].shape == (2, 2, 1, 2)
    np.testing.assert_array_equal(out["keypoint"][1, :, 0], [[10, 11], [6, 7]])
    np.testing.assert_array_equal(out["keypoint_score"][:, :, 0], [[2, 0], [5, 3]])
    with pytest.raises(ShapeError, match=r"frame index 5 needs \(M, T, \.\.\.\)"):
        step("PoseDecode")(dict(keypoint=keypoint, frame_inds=np.array([5])))


# ------------------------------------------------------------------------------------------ geometry


def two_joint_frame():
    keypoint = np.zeros((1, 1, 3, 2), dtype=np.float32)
    keypoint[0, 0, 0] = (20, 30)
    keypoint[0, 0, 1] = (60, 50)  # joint 2 stays (0, 0): not detected
    return keypoint


def test_pose_compact_crops_to_the_padded_joint_box():
    out = step("PoseCompact", padding=0.25, threshold=10)(dict(keypoint=two_joint_frame(), img_shape=(100, 100)))
    # center (40, 40), half sizes 20 * 1.25 = 25 and 10 * 1.25 = 12.5 -> x 15..65, y int(27.5)..int(52.5)
    assert out["img_shape"] == (25, 50)
    np.testing.assert_array_equal(out["keypoint"][0, 0], [[5, 3], [45, 23], [0, 0]])
    np.testing.assert_allclose(out["crop_quadruple"], (0.15, 0.27, 0.5, 0.25))


def test_pose_compact_hw_ratio_and_image_bounds():
    square = step("PoseCompact", hw_ratio=1.0)(dict(keypoint=two_joint_frame(), img_shape=(100, 100)))
    assert square["img_shape"] == (50, 50)  # half height grows to the half width, 25
    np.testing.assert_array_equal(square["keypoint"][0, 0, :2], [[5, 15], [45, 35]])
    keypoint = two_joint_frame()
    keypoint[0, 0, 1] = (95, 50)  # the padded box would reach x = 103.75
    clipped = step("PoseCompact", allow_imgpad=False)(dict(keypoint=keypoint, img_shape=(100, 100)))
    # x: 57.5 -/+ 46.875 -> int(10.625)=10 .. min(100, 104.375)=100
    assert clipped["img_shape"] == (25, 90)
    small = two_joint_frame() * 0.1  # a 4 x 2 pixel span is below the threshold: nothing changes
    same = step("PoseCompact")(dict(keypoint=small.copy(), img_shape=(100, 100)))
    assert same["img_shape"] == (100, 100) and "crop_quadruple" not in same
    np.testing.assert_array_equal(same["keypoint"], small)


def test_keypoint_aware_resize_crop_and_flip_in_a_pose_pipeline():
    keypoint = np.array([[[[10.0, 20.0], [40.0, 60.0], [0.0, 0.0]]]], dtype=np.float32)  # 1 person, 1 frame, 3 joints
    score = np.array([[[0.9, 0.8, 0.0]]], dtype=np.float32)
    pipeline = Compose([
        dict(type="Resize", scale=(-1, 64)),  # short side 50 -> 64: factor 1.28
        dict(type="CenterCrop", crop_size=64),  # 64 x 128 -> top (128 - 64) // 2 = 32
        dict(type="Flip", flip_ratio=1.0, left_kp=[0], right_kp=[1]),
    ])
    out = pipeline(dict(keypoint=keypoint, keypoint_score=score, img_shape=(100, 50), modality="Pose"))
    assert out["img_shape"] == (64, 64)
    # joint 0 (12.8, 25.6 - 32) becomes joint 1 after the swap, x mirrored: 64 - 12.8
    np.testing.assert_allclose(out["keypoint"][0, 0, 1], [64 - 12.8, 25.6 - 32], rtol=1e-6)
    np.testing.assert_allclose(out["keypoint"][0, 0, 0], [64 - 51.2, 76.8 - 32], rtol=1e-6)
    np.testing.assert_allclose(out["keypoint_score"][0, 0], [0.8, 0.9, 0.0])


# ------------------------------------------------------------------------------------------ heatmaps


def test_keypoint_heatmap_by_hand():
    keypoint = np.array([[[[2.0, 3.0]], [[2.0, 3.0]]], [[[6.0, 1.0]], [[2.0, 3.0]]]], dtype=np.float32)  # M=2, T=2, V=1
    score = np.array([[[0.5], [0.5]], [[0.25], [0.00005]]], dtype=np.float32)
    out = step("GeneratePoseTarget", sigma=1.0, skeletons=())(dict(keypoint=keypoint, keypoint_score=score, img_shape=(8, 8)))
    imgs = out["imgs"]
    assert imgs.shape == (2, 8, 8, 1) and imgs.dtype == np.float32
    frame0 = imgs[0, :, :, 0]
    assert frame0[3, 2] == pytest.approx(0.5)
    assert frame0[3, 3] == pytest.approx(0.5 * math.exp(-0.5))
    assert frame0[6, 2] == pytest.approx(0.5 * math.exp(-4.5))  # 3 sigma away: the window's last row
    assert frame0[1, 6] == pytest.approx(0.25)  # the second person's peak
    assert frame0[3, 6] == pytest.approx(0.25 * math.exp(-2.0))  # outside the first person's window
    # both persons reach (4, 2) at squared distance 5: the maximum of the two, not their sum
    assert frame0[2, 4] == pytest.approx(0.5 * math.exp(-2.5))
    assert frame0[3, 5] == pytest.approx(0.25 * math.exp(-2.5))  # here the second person is the larger
    assert frame0[7, 7] == 0.0  # outside both windows
    # frame 1: the second person's score is below 1e-4 and draws nothing: the first person's map alone
    alone = step("GeneratePoseTarget", sigma=1.0)(dict(keypoint=keypoint[:1, 1:], keypoint_score=score[:1, 1:],
                                                       img_shape=(8, 8)))
    np.testing.assert_array_equal(imgs[1], alone["imgs"][0])
    assert imgs[1, 3, 2, 0] == pytest.approx(0.5)
    no_score = step("GeneratePoseTarget", sigma=1.0, use_score=False)(
        dict(keypoint=keypoint[:1, :1], keypoint_score=score[:1, :1], img_shape=(8, 8)))
    assert no_score["imgs"][0, 3, 2, 0] == pytest.approx(1.0)


def test_limb_heatmap_is_the_gaussian_of_the_distance_to_the_segment():
    keypoint = np.array([[[[1.0, 2.0], [5.0, 2.0]]]], dtype=np.float32)  # one limb from (1, 2) to (5, 2)
    score = np.array([[[0.8, 0.6]]], dtype=np.float32)
    out = step("GeneratePoseTarget", sigma=1.0, with_kp=False, with_limb=True, skeletons=[(0, 1)])(
        dict(keypoint=keypoint, keypoint_score=score, img_shape=(6, 10)))
    limb = out["imgs"][0, :, :, 0]
    value = 0.6  # the smaller score of the two joints
    assert limb[2, 3] == pytest.approx(value)  # on the segment
    assert limb[3, 3] == pytest.approx(value * math.exp(-0.5))  # 1 pixel off the segment
    assert limb[2, 0] == pytest.approx(value * math.exp(-0.5))  # 1 pixel before the start
    assert limb[2, 7] == pytest.approx(value * math.exp(-2.0))  # 2 pixels past the end
    assert limb[4, 8] == pytest.approx(value * math.exp(-(9 + 4) / 2))  # nearest point: the end (5, 2)
    both = step("GeneratePoseTarget", sigma=1.0, with_kp=True, with_limb=True, skeletons=[(0, 1)])(
        dict(keypoint=keypoint, keypoint_score=score, img_shape=(6, 10)))
    assert both["imgs"].shape == (1, 6, 10, 3)  # 2 keypoint channels, then 1 limb channel
    np.testing.assert_array_equal(both["imgs"][..., 2], out["imgs"][..., 0])


def test_double_appends_the_flipped_heatmaps():
    keypoint = np.array([[[[2.0, 1.0], [5.0, 3.0]]]], dtype=np.float32)
    results = dict(keypoint=keypoint, img_shape=(4, 8), modality="Pose")
    gen = dict(sigma=0.6, skeletons=(), left_kp=[0], right_kp=[1])
    out = step("GeneratePoseTarget", double=True, **gen)(dict(results, keypoint=keypoint.copy()))
    assert out["imgs"].shape == (2, 4, 8, 2)
    # flipped: x -> 8 - x and the two joints swap channels
    mirrored = np.array([[[[8 - 5.0, 3.0], [8 - 2.0, 1.0]]]], dtype=np.float32)
    expected = step("GeneratePoseTarget", **gen)(dict(results, keypoint=mirrored))["imgs"][0]
    np.testing.assert_array_equal(out["imgs"][1], expected)
    np.testing.assert_array_equal(out["imgs"][0], step("GeneratePoseTarget", **gen)(dict(results))["imgs"][0])


def test_generate_pose_target_checks():
    with pytest.raises(ConfigError, match="at least one of with_kp and with_limb"):
        step("GeneratePoseTarget", with_kp=False)
    with pytest.raises(ShapeError, match="skeletons use joint 16, but keypoint has 2 joints"):
        step("GeneratePoseTarget", with_limb=True)(dict(keypoint=np.zeros((1, 1, 2, 2)), img_shape=(4, 4)))
    with pytest.raises(ShapeError, match=r"keypoint_score has shape \(1, 2\), expected \(1, 1, 2\)"):
        step("GeneratePoseTarget")(dict(keypoint=np.zeros((1, 1, 2, 2)), keypoint_score=np.zeros((1, 2)), img_shape=(4, 4)))


# ------------------------------------------------------------------------------------------ graph input


def test_joint_to_bone_by_hand():
    joints = np.arange(17, dtype=np.float32)
    keypoint = np.stack([joints, 2 * joints, joints / 10], axis=-1)[None, None]  # (1, 1, 17, 3): x, y, score
    bone = step("JointToBone", dataset="coco")(dict(keypoint=keypoint))["keypoint"][0, 0]
    np.testing.assert_allclose(bone[0], [0, 0, 0.0])  # the root (nose) points at itself
    np.testing.assert_allclose(bone[3], [3 - 1, 6 - 2, (0.3 + 0.1) / 2])  # left ear hangs from the left eye
    np.testing.assert_allclose(bone[15], [15 - 13, 30 - 26, (1.5 + 1.3) / 2])  # left ankle from the left knee
    ntu = np.random.RandomState(0).rand(1, 2, 25, 3).astype(np.float32)
    ntu_bone = step("JointToBone")(dict(keypoint=ntu))["keypoint"]
    np.testing.assert_array_equal(ntu_bone[..., 20, :], 0)  # the spine joint is the root
    np.testing.assert_allclose(ntu_bone[..., 0, :], ntu[..., 0, :] - ntu[..., 1, :])  # 3 channels: xyz, no score
    with pytest.raises(ShapeError, match=r"\(M, T, 25, 2 or 3\) for nturgb\+d"):
        step("JointToBone")(dict(keypoint=np.zeros((1, 2, 17, 3))))


def test_format_gcn_input_pads_and_drops_persons():
    keypoint = np.arange(1 * 2 * 3 * 2, dtype=np.float32).reshape(1, 2, 3, 2)
    score = np.full((1, 2, 3), 0.5, dtype=np.float32)
    out = step("FormatGCNInput", input_format="NCTVM")(dict(keypoint=keypoint, keypoint_score=score))
    assert out["keypoint"].shape == out["input_shape"] == (3, 2, 3, 2)
    assert out["keypoint"][1, 1, 2, 0] == keypoint[0, 1, 2, 1] and out["keypoint"][2, 0, 0, 0] == 0.5
    np.testing.assert_array_equal(out["keypoint"][..., 1], 0)  # the missing second person
    three = np.stack([keypoint[0] + 100 * m for m in range(3)])
    kept = step("FormatGCNInput", input_format="NCTVM", num_person=2)(dict(keypoint=three))["keypoint"]
    assert kept.shape == (2, 2, 3, 2) and kept[0, 0, 0, 1] == 100
    with pytest.raises(ConfigError, match="input_format must be 'NCTVM'"):
        step("FormatGCNInput", input_format="NCHW")


def test_pose_normalize_by_hand():
    keypoint = np.zeros((3, 1, 1, 2), dtype=np.float32)  # C, T, V, M
    keypoint[:, 0, 0, 0] = (960, 540, 0.5)
    keypoint[:, 0, 0, 1] = (1920, 0, 1.0)
    out = step("PoseNormalize")(dict(keypoint=keypoint))
    np.testing.assert_allclose(out["keypoint"][:, 0, 0, 0], [0, 0, 0])
    np.testing.assert_allclose(out["keypoint"][:, 0, 0, 1], [0.5, -0.5, 0.5])
    assert set(out["keypoint_norm_cfg"]) == {"mean", "min_value", "max_value"}


def test_the_zoo_pipelines_run_end_to_end():
    rs = np.random.RandomState(0)
    keypoint = (rs.rand(2, 20, 17, 2) * [200, 100] + [50, 60]).astype(np.float32)
    sample = dict(keypoint=keypoint, keypoint_score=rs.rand(2, 20, 17).astype(np.float32), total_frames=20,
                  start_index=0, img_shape=(240, 320), label=3, modality="Pose")
    posec3d = Compose([
        dict(type="UniformSampleFrames", clip_len=8, num_clips=2, test_mode=True), dict(type="PoseDecode"),
        dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True), dict(type="Resize", scale=(-1, 64)),
        dict(type="CenterCrop", crop_size=64), dict(type="GeneratePoseTarget", with_kp=True, with_limb=True),
        dict(type="FormatShape", input_format="NCTHW"),
    ])
    out = posec3d(dict(sample, keypoint=keypoint.copy()))
    assert out["imgs"].shape == (2, 17 + 17, 8, 64, 64)  # clips, keypoint + limb channels, T, H, W
    stgcn = Compose([dict(type="PaddingWithLoop", clip_len=30), dict(type="PoseDecode"),
                     dict(type="FormatGCNInput", input_format="NCTVM")])
    out = stgcn(dict(sample, keypoint=keypoint.copy()))
    np.testing.assert_array_equal(out["keypoint"][:2, 25, :, 1], keypoint[1, 5].T)  # frame 25 loops to frame 5
