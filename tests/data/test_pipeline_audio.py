"""Audio steps: PyAV decoding on files written here, clip selection, mel spectrogram by hand."""

import av
import numpy as np
import pytest

from videohub.data.pipelines.audio import hz_to_mel, mel_filterbank, mel_to_hz, power_spectrogram
from videohub.errors import ShapeError, VideoDecodeError
from videohub.registry import PIPELINES


def _write_wav(path, samples_int16, rate):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples_int16[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _sine(freq, rate, seconds, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_audio_decode_init_exact_samples_and_resampling(tmp_path):
    samples = _sine(440, 16000, 0.5)
    path = tmp_path / "tone.wav"
    _write_wav(path, samples, 16000)
    out = PIPELINES.build(dict(type="AudioDecodeInit", sample_rate=16000))(dict(audio_path=str(path)))
    assert out["sample_rate"] == 16000 and out["length"] == len(samples)
    assert out["audios"].dtype == np.float32
    assert np.allclose(out["audios"], samples / 32768.0, atol=1e-6)

    out = PIPELINES.build(dict(type="AudioDecodeInit", sample_rate=8000))(dict(audio_path=str(path)))
    assert abs(out["length"] - 4000) <= 32
    spectrum = np.abs(np.fft.rfft(out["audios"][:4000]))
    assert np.argmax(spectrum) * 8000 / 4000 == pytest.approx(440, abs=2)


def test_audio_decode_init_missing_and_corrupt(tmp_path):
    out = PIPELINES.build(dict(type="AudioDecodeInit", sample_rate=100))(dict(audio_path=str(tmp_path / "no.wav")))
    assert out["length"] == 1000 and not out["audios"].any()
    out = PIPELINES.build(dict(type="AudioDecodeInit", sample_rate=100, pad_method="random", seed=0))(
        dict(audio_path=str(tmp_path / "no.wav"))
    )
    assert out["audios"].min() >= -1 and out["audios"].max() < 1 and out["audios"].std() > 0.3
    bad = tmp_path / "bad.wav"
    bad.write_bytes(np.random.RandomState(0).bytes(2000))
    with pytest.raises(VideoDecodeError, match="bad.wav"):
        PIPELINES.build(dict(type="AudioDecodeInit"))(dict(audio_path=str(bad)))


def test_audio_decode_and_feature_selector_by_hand():
    audio = np.arange(100, dtype=np.float32)
    results = dict(audios=audio, frame_inds=np.array([0, 1, 4, 5]), num_clips=2, total_frames=10, length=100)
    out = PIPELINES.build(dict(type="AudioDecode", fixed_length=8))(dict(results))
    # clip 0: samples round(1/10*100)=10 .. round(2/10*100)=20 -> 10 samples, truncated to 8
    # clip 1: 50 .. 60
    assert out["audios"].tolist() == [list(range(10, 18)), list(range(50, 58))]
    out = PIPELINES.build(dict(type="AudioDecode", fixed_length=12))(dict(results))
    assert out["audios"][0].tolist() == list(range(10, 20)) + [0, 0] and out["audios_shape"] == (2, 12)

    feats = np.arange(40, dtype=np.float32).reshape(20, 2)
    results = dict(audios=feats, frame_inds=np.array([0, 3]), num_clips=1, total_frames=10, length=20)
    out = PIPELINES.build(dict(type="AudioFeatureSelector", fixed_length=8))(dict(results))
    # rows round(1/10*20)=2 .. round(4/10*20)=8 -> 6 rows, zero-padded to 8
    assert out["audios"].shape == (1, 8, 2)
    assert np.array_equal(out["audios"][0, :6], feats[2:8]) and not out["audios"][0, 6:].any()

    out = PIPELINES.build(dict(type="AudioAmplify", ratio=1.5))(dict(audios=np.ones(3, dtype=np.float32)))
    assert out["audios"].tolist() == [1.5] * 3 and out["amplify_ratio"] == 1.5


def test_load_audio_feature_npy_only(tmp_path):
    feats = np.random.RandomState(0).rand(30, 80).astype(np.float32)
    np.save(tmp_path / "f.npy", feats)
    out = PIPELINES.build(dict(type="LoadAudioFeature"))(dict(audio_path=str(tmp_path / "f.npy")))
    assert out["length"] == 30 and np.array_equal(out["audios"], feats)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(VideoDecodeError, match="obj.npy"):
        PIPELINES.build(dict(type="LoadAudioFeature"))(dict(audio_path=str(tmp_path / "obj.npy")))
    out = PIPELINES.build(dict(type="LoadAudioFeature"))(dict(audio_path=str(tmp_path / "missing.npy")))
    assert out["audios"].shape == (640, 80) and out["length"] == 640


def test_mel_scale_values_and_filterbank_area():
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(6400.0) == pytest.approx(42.0)  # 15 + 27 log-steps of 6.4 ** (1 / 27)
    assert hz_to_mel(200.0) == pytest.approx(3.0)
    freqs = np.array([50.0, 700.0, 1000.0, 3000.0, 7900.0])
    assert np.allclose(mel_to_hz(hz_to_mel(freqs)), freqs)
    bank = mel_filterbank(16000, 2048, 40)
    assert bank.shape == (40, 1025) and bank.dtype == np.float32
    bin_hz = 16000 / 2048
    areas = bank.sum(1) * bin_hz
    assert np.allclose(areas[5:], 1.0, atol=0.03)  # Slaney normalization: unit area in Hz
    peaks = np.argmax(bank, 1) * bin_hz
    centres = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(8000), 42))[1:-1]
    assert np.abs(peaks - centres).max() <= bin_hz


def test_power_spectrogram_against_a_dft_loop():
    rng = np.random.RandomState(0)
    signal = rng.randn(50).astype(np.float32)
    n_fft, hop = 16, 8
    spec = power_spectrogram(signal, n_fft, hop)
    padded = np.concatenate([np.zeros(8), signal, np.zeros(8)])
    window = [0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft) for n in range(n_fft)]
    assert spec.shape == (9, 1 + (66 - 16) // 8)
    for t in (0, 3, spec.shape[1] - 1):
        frame = [padded[t * hop + n] * window[n] for n in range(n_fft)]
        for k in (0, 1, 5, 8):
            re = sum(frame[n] * np.cos(2 * np.pi * k * n / n_fft) for n in range(n_fft))
            im = -sum(frame[n] * np.sin(2 * np.pi * k * n / n_fft) for n in range(n_fft))
            assert spec[k, t] == pytest.approx(re * re + im * im, rel=1e-4, abs=1e-5)


def test_mel_spectrogram_step_shape_padding_and_peak():
    rate = 8000
    tone = np.sin(2 * np.pi * 1000 * np.arange(rate // 4) / rate).astype(np.float32)
    audios = np.stack([tone, tone * 0.5])
    step = PIPELINES.build(dict(type="MelSpectrogram", window_size=32, step_size=16, n_mels=20, fixed_length=40))
    out = step(dict(audios=audios, sample_rate=rate, num_clips=2))
    # n_fft 256, hop 128, 2000 samples -> 16 frames, edge-padded to 40
    assert out["audios"].shape == (2, 40, 20) and out["audios"].dtype == np.float32
    assert np.array_equal(out["audios"][0, 15], out["audios"][0, 39])
    bank = mel_filterbank(rate, 256, 20)
    assert np.argmax(out["audios"][0, 8]) == np.argmax(bank[:, round(1000 / (rate / 256))])
    assert np.allclose(out["audios"][1], out["audios"][0] * 0.25, rtol=1e-4, atol=1e-6)
    short = PIPELINES.build(dict(type="MelSpectrogram", fixed_length=4))
    assert short(dict(audios=audios, sample_rate=rate, num_clips=1))["audios"].shape == (1, 4, 80)
    with pytest.raises(ShapeError):
        step(dict(audios=np.zeros((1, 2, 3)), sample_rate=rate, num_clips=1))
