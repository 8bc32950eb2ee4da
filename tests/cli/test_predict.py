"""``videohub predict``: output, inputs, views, resumable JSON lines, sharding, and clear errors."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import types

import pytest
import torch

import videohub
from videohub import VideoPreTrainedModel, VideoProcessor
from videohub.cli import main
from videohub.commands.predict import collect_videos, override_views
from videohub.errors import UsageError

LABEL_NAMES = ["left", "right", "up"]
SRC = os.path.dirname(os.path.dirname(os.path.abspath(videohub.__file__)))


def expected_top(probs, k):
    scores, ids = probs.topk(k)
    return [LABEL_NAMES[int(i)] for i in ids], [float(s) for s in scores]


# ------------------------------------------------------------------------------------------------
# output


def test_predict_json(tiny, capsys):
    video = tiny.videos[0]
    assert main(["predict", video, "--model", tiny.folder, "--top-k", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    labels, scores = expected_top(tiny.probs(video), 2)
    assert result[0]["video"] == video
    assert [p["label"] for p in result[0]["predictions"]] == labels
    assert [p["score"] for p in result[0]["predictions"]] == pytest.approx(scores, abs=1e-6)


def test_predict_text_bfloat16_asks_the_slow_dtype_check(tiny, capsys, monkeypatch):
    calls = []
    quantize = types.ModuleType("videohub.deploy.quantize")
    quantize.warn_if_slow_dtype = calls.append
    deploy = types.ModuleType("videohub.deploy")
    deploy.__path__, deploy.quantize = [], quantize
    monkeypatch.setitem(sys.modules, "videohub.deploy", deploy)
    monkeypatch.setitem(sys.modules, "videohub.deploy.quantize", quantize)
    assert main(["predict", *tiny.videos[:2], "--model", tiny.folder, "--top-k", "3", "--dtype", "bfloat16"]) == 0
    assert calls == [torch.bfloat16]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[0] == tiny.videos[0] and lines[4] == tiny.videos[1]
    assert [line.split()[0] for line in lines[1:4]] == ["1.", "2.", "3."]
    assert sorted(line.split()[1] for line in lines[1:4]) == sorted(LABEL_NAMES)


def test_decoding_workers_give_the_same_predictions_in_order(tiny, capsys):
    assert main(["predict", *tiny.videos, "--model", tiny.folder, "--json"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main(["predict", *tiny.videos, "--model", tiny.folder, "--json", "--num-workers", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == serial
    assert [r["video"] for r in serial] == tiny.videos


@pytest.mark.parametrize("average_clips", ["prob", "score", None])
def test_reported_scores_are_the_reference_probabilities(tiny, average_clips):
    from videohub import TSNForVideoClassification
    from videohub.tools.scores import class_probabilities as probabilities

    model = TSNForVideoClassification(tiny.model.config.__class__(**{**tiny.model.config.to_dict(),
                                                                     "average_clips": average_clips})).eval()
    model.load_state_dict(tiny.model.state_dict())
    views = torch.randn(2, 3, 3, 3, 40, 48, generator=torch.Generator().manual_seed(0))  # (B, V, T, C, H, W)
    with torch.no_grad():
        out = model(pixel_values=views)
    per_view = out.clip_logits.view(2, -1, out.clip_logits.shape[-1])  # a 2D model folds views into segments
    reference = per_view.softmax(-1).mean(1) if average_clips == "prob" else per_view.mean(1).softmax(-1)
    torch.testing.assert_close(probabilities(out.logits), reference, rtol=1e-5, atol=1e-7)
    if average_clips == "prob":
        torch.testing.assert_close(probabilities(out.logits), out.scores, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------------
# inputs: files, folders, globs, list files


def test_collect_videos_expands_folders_globs_and_list_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ["clips/a.mp4", "clips/sub/b.AVI", "clips/sub/notes.txt", "clips/.hidden.mp4", "clips/.cache/c.mp4",
                 "other/d.mkv", "lists/e.webm", "lists/g h.mp4"]:
        os.makedirs(os.path.dirname(name), exist_ok=True)
        open(name, "wb").close()
    with open("lists/videos.txt", "w", encoding="utf-8") as f:
        f.write("# one path per line\n\ne.webm\n../clips/a.mp4\n/abs/f.mp4\ng h.mp4\n")
    assert collect_videos(["clips", "other/*.mkv", "lists/videos.txt", "clips/a.mp4"]) == [
        "clips/a.mp4", "clips/sub/b.AVI", "other/d.mkv", "lists/e.webm", "/abs/f.mp4", "lists/g h.mp4"]
    assert collect_videos(["clips/**/*.AVI"]) == ["clips/sub/b.AVI"]
    # mmaction2 annotation lines ("path [total_frames] label"), relative to --list-root
    with open("train_list.txt", "w", encoding="utf-8") as f:
        f.write("a.mp4 3\nsub/b.AVI 120 7\nmissing.mp4 2\n")
    assert collect_videos(["train_list.txt"], list_root="clips") == ["clips/a.mp4", "clips/sub/b.AVI",
                                                                      "clips/missing.mp4"]


@pytest.mark.parametrize("item, message", [
    ("missing.mp4", "missing.mp4: no such video file, folder or list file"),
    ("*.flv", "no file matches the pattern '*.flv'"),
    ("empty", "empty: no video files"),
    ("empty.txt", "empty.txt: the list file names no video"),
    ("latin1.txt", "latin1.txt: a list file must be UTF-8 text"),
])
def test_collect_videos_errors(tmp_path, monkeypatch, item, message):
    monkeypatch.chdir(tmp_path)
    os.mkdir("empty")
    open("empty.txt", "w").write("# nothing\n")
    open("latin1.txt", "wb").write("vid\xe9o.mp4\n".encode("latin-1"))
    with pytest.raises(UsageError, match=message.replace("*", r"\*")):
        collect_videos([item])


def test_predict_missing_video_is_a_clear_error(tiny, capsys):
    assert main(["predict", "nope.mp4", "--model", tiny.folder]) == 2
    assert capsys.readouterr().err == "videohub predict: error: nope.mp4: no such video file, folder or list file\n"


# ------------------------------------------------------------------------------------------------
# views


PROTOCOL = (dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
            [dict(type="Resize", scale=[-1, 256]), dict(type="TenCrop", crop_size=224),
             dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1])])


@pytest.mark.parametrize("num_clips, num_crops, clips, crop", [
    (None, None, 25, dict(type="TenCrop", crop_size=224)),
    (1, 1, 1, dict(type="CenterCrop", crop_size=224)),
    (4, 3, 4, dict(type="ThreeCrop", crop_size=256)),  # three crops as wide as the short side (256)
    (None, 10, 25, dict(type="TenCrop", crop_size=224)),
])
def test_override_views(num_clips, num_crops, clips, crop):
    sampler, transforms = override_views(*PROTOCOL, num_clips=num_clips, num_crops=num_crops)
    assert sampler == {**PROTOCOL[0], "num_clips": clips}
    assert transforms == [PROTOCOL[1][0], crop, PROTOCOL[1][2]]
    assert PROTOCOL[0]["num_clips"] == 25 and PROTOCOL[1][1]["type"] == "TenCrop"  # inputs untouched


def test_override_views_three_crops_of_a_fixed_size_resize():
    transforms = [dict(type="Resize", scale=[340, 256], keep_ratio=False), dict(type="CenterCrop", crop_size=224)]
    assert override_views(PROTOCOL[0], transforms, num_crops=3)[1][1] == dict(type="ThreeCrop", crop_size=256)


@pytest.mark.parametrize("sampler, transforms, kwargs, message", [
    (dict(type="UntrimmedSampleFrames", clip_len=1), PROTOCOL[1], dict(num_clips=2), "has no num_clips"),
    (PROTOCOL[0], [dict(type="Resize", scale=[-1, 256])], dict(num_crops=3), "no CenterCrop, ThreeCrop or TenCrop"),
    (PROTOCOL[0], [dict(type="Resize", scale=[340, 256]), dict(type="CenterCrop", crop_size=224)],
     dict(num_crops=3), "needs a Resize step with scale"),
])
def test_override_views_errors(sampler, transforms, kwargs, message):
    with pytest.raises(UsageError, match=message):
        override_views(sampler, transforms, **kwargs)


def test_num_clips_and_num_crops_change_the_views(tiny, capsys):
    video = tiny.videos[0]
    assert main(["predict", video, "--model", tiny.folder, "--num-clips", "2", "--num-crops", "3", "--json",
                 "--top-k", "3"]) == 0
    result = json.loads(capsys.readouterr().out)[0]["predictions"]
    processor = VideoProcessor(sampler={**tiny.processor.sampler, "num_clips": 2},
                               transforms=[tiny.processor.transforms[0], dict(type="ThreeCrop", crop_size=32),
                                           tiny.processor.transforms[2]])
    assert processor(video)["pixel_values"].shape == (1, 6, 1, 3, 32, 32)  # 2 clips x 3 crops of the 32 x 38 frame
    probs = tiny.probs(video, processor)
    assert not torch.allclose(probs, tiny.probs(video), atol=1e-4)  # the views do change the result
    labels, scores = expected_top(probs, 3)
    assert [p["label"] for p in result] == labels
    assert [p["score"] for p in result] == pytest.approx(scores, abs=1e-6)


# ------------------------------------------------------------------------------------------------
# JSON lines, resuming, failures


def test_output_is_resumable_and_failures_are_listed(tiny, tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video")
    out = tmp_path / "predictions.jsonl"
    # An earlier run that was killed: one finished record (a sentinel the model would never give) and a torn line.
    sentinel = {"video": tiny.videos[0], "predictions": [{"label": "sentinel", "score": 1.0}]}
    out.write_text(json.dumps(sentinel) + "\n" + '{"video": "' + tiny.videos[1][:5])
    argv = ["predict", *tiny.videos, str(broken), "--model", tiny.folder, "--output", str(out), "--top-k", "1"]

    assert main(argv) == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0] == sentinel  # already there: not predicted again
    assert [r["video"] for r in records[1:]] == tiny.videos[1:]
    for record in records[1:]:
        labels, scores = expected_top(tiny.probs(record["video"]), 1)
        assert record["predictions"] == [{"label": labels[0], "score": pytest.approx(scores[0], abs=1e-6)}]
    err = capsys.readouterr().err
    assert f"2 video(s) predicted into {out}, 1 already there, 1 failed" in err
    assert f"  failed: {broken}: cannot open '{broken}' as a video" in err

    before = out.read_text()
    assert main(argv) == 1  # the failed video is tried again, nothing else
    assert out.read_text() == before
    assert f"0 video(s) predicted into {out}, 3 already there, 1 failed" in capsys.readouterr().err


def test_output_that_is_not_predict_output_is_refused(tiny, tmp_path, capsys):
    out = tmp_path / "notes.jsonl"
    out.write_text('{"video": "a.mp4"}\nhello\n')
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--output", str(out)]) == 2
    assert f"{out}:2: not a line written by videohub predict" in capsys.readouterr().err


def test_sharded_run_writes_parts_and_merges(tiny, tmp_path, capsys, monkeypatch):
    """Two processes (threads with accelerate's PartialState and gather_object replaced) share the list."""
    import accelerate
    import accelerate.utils

    barrier = threading.Barrier(2, timeout=300)
    rank = threading.local()
    gathered = {}
    seen = {}

    class TwoProcesses:
        num_processes = 2

        def __init__(self, cpu=False):
            self.process_index = rank.index
            self.is_main_process = rank.index == 0
            self.device = torch.device("cpu")

        def wait_for_everyone(self):
            barrier.wait()

    def gather_object(items):
        gathered[rank.index] = items
        barrier.wait()
        result = gathered[0] + gathered[1]
        barrier.wait()
        return result

    real_processor_call = VideoProcessor.__call__

    def recording_call(self, video, *args, **kwargs):
        seen.setdefault(getattr(rank, "index", None), []).append(video)
        return real_processor_call(self, video, *args, **kwargs)

    monkeypatch.setattr(accelerate, "PartialState", TwoProcesses)
    monkeypatch.setattr(accelerate.utils, "gather_object", gather_object)
    monkeypatch.setattr(VideoProcessor, "__call__", recording_call)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    out = tmp_path / "out.jsonl"
    # a part left by a crashed 3-process run: merged, and its video skipped
    leftover = {"video": tiny.videos[2], "predictions": [{"label": "sentinel", "score": 1.0}]}
    (tmp_path / "out.jsonl.part2").write_text(json.dumps(leftover) + "\n")
    codes = {}

    def process(index):
        rank.index = index
        codes[index] = main(["predict", *tiny.videos, str(broken), "--model", tiny.folder, "--output", str(out)])

    threads = [threading.Thread(target=process, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == {0: 1, 1: 1}
    assert (seen[0], seen[1]) == ([tiny.videos[0], str(broken)], [tiny.videos[1]])  # every 2nd remaining video
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["video"] for r in records] == [tiny.videos[0], tiny.videos[1], tiny.videos[2]]
    assert records[2] == leftover
    for record in records[:2]:
        assert record["predictions"][0]["label"] == expected_top(tiny.probs(record["video"]), 1)[0][0]
    assert sorted(os.listdir(tmp_path)) == ["broken.mp4", "out.jsonl"]  # parts merged and removed
    err = capsys.readouterr().err
    assert f"2 video(s) predicted into {out}, 1 already there, 1 failed" in err
    assert err.count(f"failed: {broken}") == 1


def test_sharded_run_needs_an_output(tiny, capsys, monkeypatch):
    import accelerate

    class TwoProcesses:
        num_processes, process_index, is_main_process = 2, 0, True

        def __init__(self, cpu=False):
            pass

    monkeypatch.setattr(accelerate, "PartialState", TwoProcesses)
    assert main(["predict", tiny.videos[0], "--model", tiny.folder]) == 2
    assert "a run over 2 processes needs --output" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# models: folders, Hub ids, offline, pickles, devices, --optimize


def test_missing_model_folder(tiny, tmp_path, capsys):
    missing = str(tmp_path / "no-such-model")
    assert main(["predict", tiny.videos[0], "--model", missing]) == 2
    assert capsys.readouterr().err == f"videohub predict: error: model folder {missing} does not exist\n"


def test_folder_without_config_or_processor(tiny, tmp_path, capsys):
    assert main(["predict", tiny.videos[0], "--model", str(tmp_path)]) == 2
    assert "is not a model folder: it has no config.json" in capsys.readouterr().err
    folder = tmp_path / "no-processor"
    shutil.copytree(tiny.folder, folder)
    os.remove(folder / "preprocessor_config.json")
    assert main(["predict", tiny.videos[0], "--model", str(folder)]) == 2
    assert "has no preprocessor_config.json" in capsys.readouterr().err


def test_pickled_weights_are_refused(tiny, tmp_path, capsys):
    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy(os.path.join(tiny.folder, name), folder / name)
    torch.save(tiny.model.state_dict(), folder / "pytorch_model.bin")
    assert main(["predict", tiny.videos[0], "--model", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "holds pytorch_model.bin: pickled weights, which videohub refuses to load" in err
    assert "Traceback" not in err


def test_unknown_hub_id_when_offline_fails_fast(tiny, closed_port, hub_cache, capsys):
    from videohub.hub import use_endpoint

    endpoint = f"http://127.0.0.1:{closed_port}"
    with use_endpoint(endpoint):
        start = time.monotonic()
        assert main(["predict", tiny.videos[0], "--model", "org/never-downloaded"]) == 2
        elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert f"cannot reach the Hub at {endpoint} (127.0.0.1:{closed_port}: Connection refused)" in err
    assert "'org/never-downloaded' (revision main) is not in the local cache" in err
    assert elapsed < 5, f"took {elapsed:.1f} s"


def test_hf_hub_offline_uses_only_the_cache(tiny, hub_cache, capsys, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["predict", tiny.videos[0], "--model", "org/never-downloaded"]) == 2
    assert "(HF_HUB_OFFLINE is set) and 'org/never-downloaded' (revision main) is not in the local cache" in (
        capsys.readouterr().err)


def test_hub_id_unknown_found_and_cached(tiny, tmp_path, closed_port, hub_cache, capsys, log_records):
    from huggingface_hub import HfApi

    from videohub.hub import local_hub, use_endpoint

    with local_hub(str(tmp_path / "hub"), token="cli-token") as hub:
        assert main(["predict", tiny.videos[0], "--model", "org/no-such-model"]) == 2
        assert (f"no model folder 'org/no-such-model' here and no model 'org/no-such-model' on {hub.url}"
                in capsys.readouterr().err)
        api = HfApi(endpoint=hub.url, token="cli-token")
        api.create_repo("org/tiny")
        api.upload_folder(repo_id="org/tiny", folder_path=tiny.folder)
        assert main(["predict", tiny.videos[0], "--model", "org/tiny", "--json"]) == 0
        online = json.loads(capsys.readouterr().out)
        assert main(["predict", tiny.videos[0], "--model", "org/tiny", "--revision", "v9"]) == 2
        assert f"'org/tiny' on {hub.url} has no revision 'v9'" in capsys.readouterr().err
    labels, _ = expected_top(tiny.probs(tiny.videos[0]), 3)  # --top-k 5 of 3 classes
    assert [p["label"] for p in online[0]["predictions"]] == labels
    with use_endpoint(f"http://127.0.0.1:{closed_port}"):  # the hub is gone: the cached copy is used
        assert main(["predict", tiny.videos[0], "--model", "org/tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == online
    assert any("using the cached copy of org/tiny" in r.getMessage() for r in log_records)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_cuda_without_cuda_falls_back_to_the_cpu(tiny, capsys, log_records):
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--device", "cuda", "--json", "--top-k", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result[0]["predictions"][0]["label"] == expected_top(tiny.probs(tiny.videos[0]), 1)[0][0]
    assert any("device cuda requested but CUDA is not available; using the CPU" in r.getMessage()
               for r in log_records)


def test_bad_device_is_a_clear_error(tiny, capsys):
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--device", "gpu0"]) == 2
    assert "--device 'gpu0' is not a torch device" in capsys.readouterr().err


def test_top_k_zero_is_an_argument_error(tiny, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", tiny.videos[0], "--model", tiny.folder, "--top-k", "0"])
    assert exit_info.value.code == 2
    assert "argument --top-k: expected a positive integer, got 0" in capsys.readouterr().err


def test_optimize_runs_optimize_for_inference_on_the_moved_model(tiny, capsys, monkeypatch):
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--optimize", "--json"]) == 0
    optimized = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in optimized[0]["predictions"]] == [p["label"] for p in plain[0]["predictions"]]
    for a, b in zip(optimized[0]["predictions"], plain[0]["predictions"]):
        assert a["score"] == pytest.approx(b["score"], rel=1e-4, abs=1e-6)

    calls = []

    def optimize_for_inference(self):
        calls.append((self.training, self.dtype))
        return self

    monkeypatch.setattr(VideoPreTrainedModel, "optimize_for_inference", optimize_for_inference, raising=False)
    assert main(["predict", tiny.videos[0], "--model", tiny.folder, "--optimize", "--dtype", "float16", "--json"]) == 0
    assert calls == [(False, torch.float16)]  # in eval mode, after the move to the device and dtype


# ------------------------------------------------------------------------------------------------
# a real process


def test_closed_pipe_exits_quietly(tiny):
    """``videohub predict ... | head -1`` after head has exited: no traceback, exit 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run([sys.executable, "-m", "videohub.cli", "predict", *tiny.videos, "--model", tiny.folder],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == 141, proc.stderr


@pytest.mark.slow
def test_two_real_processes_under_torchrun(tiny, tmp_path):
    """The same protocol with accelerate's real PartialState and gather_object across two CPU processes."""
    out = tmp_path / "out.jsonl"
    leftover = {"video": tiny.videos[0], "predictions": [{"label": "sentinel", "score": 1.0}]}
    (tmp_path / "out.jsonl.part5").write_text(json.dumps(leftover) + "\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "videohub.cli", "predict", *tiny.videos, "--model", tiny.folder, "--output", str(out),
                           "--device", "cpu", "--top-k", "1"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["video"] for r in records) == sorted(tiny.videos) and leftover in records
    for record in records:
        if record != leftover:
            assert record["predictions"][0]["label"] == expected_top(tiny.probs(record["video"]), 1)[0][0]
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl"]
    assert proc.stderr.count(f"2 video(s) predicted into {out}, 1 already there, 0 failed") == 1
    assert "predict [process 0/2]" in proc.stderr
