"""Audio steps: decoding (PyAV instead of librosa), clip selection, amplification, mel spectrograms.

* ``AudioDecodeInit`` decodes the whole audio track with PyAV, downmixed to mono float32 in
  ``[-1, 1]`` and resampled with FFmpeg's swresample to ``sample_rate``. mmaction2 used
  ``librosa.load`` (soundfile/audioread + soxr resampling): the samples are the same when no
  resampling is needed; after resampling they differ slightly (a different resampling filter).
* ``MelSpectrogram`` computes librosa's ``feature.melspectrogram`` (Hann window, centred frames
  with zero padding, power 2, Slaney mel scale and area normalization) in numpy.
* ``LoadAudioFeature`` reads ``.npy`` features with ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Dict

import numpy as np

from ...errors import ConfigError, ShapeError, VideoDecodeError
from ...registry import PIPELINES
from ...utils.logging import get_logger
from .compose import PipelineStep, SeedLike, require_keys

logger = get_logger(__name__)

_PAD_METHODS = ("zero", "random")


def decode_audio(path: str, sample_rate: int) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono float32 samples at ``sample_rate`` Hz."""
    import av

    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as err:
        raise VideoDecodeError(f"AudioDecodeInit: cannot open {path!r}: {err}") from None
    with container:
        if not container.streams.audio:
            raise VideoDecodeError(f"AudioDecodeInit: {path!r} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler count samples itself (robust to odd timestamps)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as err:
            raise VideoDecodeError(f"AudioDecodeInit: audio of {path!r} is corrupt: {err}") from None
    if not chunks:
        raise VideoDecodeError(f"AudioDecodeInit: the audio stream of {path!r} has no samples")
    return np.concatenate(chunks).astype(np.float32, copy=False)


class _PadMixin(PipelineStep):
    pad_method: str

    def _pad(self, shape, low: float) -> np.ndarray:
        if self.pad_method == "zero":
            return np.zeros(shape, dtype=np.float32)
        values = self.np_random.rand(*shape) if isinstance(shape, tuple) else self.np_random.rand(shape)
        return values.astype(np.float32) * (1 - low) + low


@PIPELINES.register()
class AudioDecodeInit(_PadMixin):
    """Decode the audio file ``results['audio_path']`` (PyAV; see the module docstring).

    A missing file gives 10 seconds of padding instead (zeros, or uniform noise in ``[-1, 1)``
    with ``pad_method='random'``), as in mmaction2, where videos without an audio track are
    common; a warning is logged. Required keys: ``audio_path``. Added or modified keys:
    ``length`` (samples), ``sample_rate``, ``audios`` (float32, 1-d).

    Args:
        io_backend: Only ``'disk'``. Default: ``'disk'``.
        sample_rate: Output sample rate in Hz. Default: 16000.
        pad_method: ``'zero'`` or ``'random'``. Default: ``'zero'``.
        seed: RNG of the random padding: None (global numpy RNG), an int or a
            ``numpy.random.Generator``. Default: None.
        **kwargs: File-client arguments of mmaction2; not used with the disk backend.
    """

    def __init__(
        self, io_backend: str = "disk", sample_rate: int = 16000, pad_method: str = "zero", seed: SeedLike = None, **kwargs
    ):
        if io_backend != "disk":
            raise ConfigError(f"AudioDecodeInit: only io_backend='disk' is supported, got {io_backend!r}")
        if pad_method not in _PAD_METHODS:
            raise ConfigError(f"AudioDecodeInit: pad_method must be one of {_PAD_METHODS}, got {pad_method!r}")
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ConfigError(f"AudioDecodeInit: sample_rate must be a positive int, got {sample_rate!r}")
        self.io_backend = io_backend
        self.sample_rate = sample_rate
        self.pad_method = pad_method
        self.kwargs = kwargs
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("audio_path",), "AudioDecodeInit")
        path = results["audio_path"]
        if osp.exists(path):
            audio = decode_audio(path, self.sample_rate)
        else:
            logger.warning("AudioDecodeInit: %r does not exist; using 10 s of %s padding", path, self.pad_method)
            audio = self._pad(int(round(10.0 * self.sample_rate)), low=-1.0)
        results["length"] = audio.shape[0]
        results["sample_rate"] = self.sample_rate
        results["audios"] = audio
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(io_backend={self.io_backend}, sample_rate={self.sample_rate}, "
            f"pad_method={self.pad_method})"
        )


@PIPELINES.register()
class LoadAudioFeature(_PadMixin):
    """Load precomputed audio features (``T x F`` ``.npy``) from ``results['audio_path']``.

    A missing file gives a ``640 x 80`` padding (zeros, or uniform noise in ``[0, 1)``), as in
    mmaction2; a warning is logged. Required keys: ``audio_path``. Added or modified keys:
    ``length`` (``T``), ``audios``.

    Args:
        pad_method: ``'zero'`` or ``'random'``. Default: ``'zero'``.
        seed: RNG of the random padding. Default: None (global numpy RNG).
    """

    def __init__(self, pad_method: str = "zero", seed: SeedLike = None):
        if pad_method not in _PAD_METHODS:
            raise ConfigError(f"LoadAudioFeature: pad_method must be one of {_PAD_METHODS}, got {pad_method!r}")
        self.pad_method = pad_method
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("audio_path",), "LoadAudioFeature")
        path = results["audio_path"]
        if osp.exists(path):
            try:
                feature_map = np.load(path, allow_pickle=False)
            except ValueError as err:
                raise VideoDecodeError(
                    f"LoadAudioFeature: {path!r} is not a plain .npy array (pickles are refused): {err}"
                ) from None
            if not isinstance(feature_map, np.ndarray):
                raise VideoDecodeError(f"LoadAudioFeature: {path!r} is not a .npy array file (an .npz archive?)")
            if feature_map.ndim != 2:
                raise ShapeError(f"LoadAudioFeature: {path!r} must hold a T x F array, got shape {feature_map.shape}")
        else:
            logger.warning("LoadAudioFeature: %r does not exist; using a 640 x 80 %s padding", path, self.pad_method)
            feature_map = self._pad((640, 80), low=0.0)
        results["length"] = feature_map.shape[0]
        results["audios"] = feature_map
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pad_method={self.pad_method})"


def _clip_bounds(clip_frame_inds: np.ndarray, total_frames: int, length: int):
    start = max(0, int(round((clip_frame_inds[0] + 1) / total_frames * length)))
    end = min(length, int(round((clip_frame_inds[-1] + 1) / total_frames * length)))
    return start, end


def _select_clips(results: Dict[str, Any], fixed_length: int, step: str) -> np.ndarray:
    require_keys(results, ("audios", "frame_inds", "num_clips", "total_frames", "length"), step)
    audio = results["audios"]
    num_clips = results["num_clips"]
    frame_inds = np.asarray(results["frame_inds"])
    if frame_inds.size % num_clips != 0:
        raise ShapeError(f"{step}: {frame_inds.size} frame indices cannot be split into {num_clips} clips")
    clips = []
    for clip_frame_inds in frame_inds.reshape(num_clips, -1):
        start, end = _clip_bounds(clip_frame_inds, results["total_frames"], results["length"])
        cropped = audio[start:end]
        if cropped.shape[0] >= fixed_length:
            clip = cropped[:fixed_length]
        else:
            pad = [(0, fixed_length - cropped.shape[0])] + [(0, 0)] * (cropped.ndim - 1)
            clip = np.pad(cropped, pad, mode="constant")
        clips.append(clip)
    return np.array(clips)


@PIPELINES.register()
class AudioDecode(PipelineStep):
    """Cut the waveform samples that match each sampled clip, truncated/zero-padded to ``fixed_length``.

    Clip ``k`` spans samples ``round((first + 1) / total_frames * length)`` to
    ``round((last + 1) / total_frames * length)`` of its frame indices. Required keys:
    ``audios``, ``frame_inds``, ``num_clips``, ``total_frames``, ``length``. Added or modified
    keys: ``audios`` (``num_clips x fixed_length``), ``audios_shape``.

    Args:
        fixed_length: Samples per clip. Default: 32000.
    """

    def __init__(self, fixed_length: int = 32000):
        if not isinstance(fixed_length, int) or fixed_length <= 0:
            raise ConfigError(f"AudioDecode: fixed_length must be a positive int, got {fixed_length!r}")
        self.fixed_length = fixed_length

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        results["audios"] = _select_clips(results, self.fixed_length, "AudioDecode")
        results["audios_shape"] = results["audios"].shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fixed_length={self.fixed_length})"


@PIPELINES.register()
class AudioFeatureSelector(PipelineStep):
    """Cut the feature rows that match each sampled clip, truncated/zero-padded to ``fixed_length``.

    Same clip bounds as :class:`AudioDecode`, on a ``T x F`` feature map. Required keys:
    ``audios``, ``frame_inds``, ``num_clips``, ``total_frames``, ``length``. Added or modified
    keys: ``audios`` (``num_clips x fixed_length x F``), ``audios_shape``.

    Args:
        fixed_length: Feature rows per clip. Default: 128.
    """

    def __init__(self, fixed_length: int = 128):
        if not isinstance(fixed_length, int) or fixed_length <= 0:
            raise ConfigError(f"AudioFeatureSelector: fixed_length must be a positive int, got {fixed_length!r}")
        self.fixed_length = fixed_length

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        if np.ndim(results.get("audios")) != 2:
            raise ShapeError(
                f"AudioFeatureSelector: audios must be a T x F feature map, got shape {np.shape(results.get('audios'))}"
            )
        results["audios"] = _select_clips(results, self.fixed_length, "AudioFeatureSelector")
        results["audios_shape"] = results["audios"].shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fix_length={self.fixed_length})"


@PIPELINES.register()
class AudioAmplify(PipelineStep):
    """Multiply the waveform by ``ratio``.

    Required keys: ``audios``. Added or modified keys: ``audios``, ``amplify_ratio``.

    Args:
        ratio: Amplification factor (a float). No default.
    """

    def __init__(self, ratio: float):
        if not isinstance(ratio, float):
            raise ConfigError(f"AudioAmplify: amplification ratio should be float, got {ratio!r}")
        self.ratio = ratio

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("audios",), "AudioAmplify")
        results["audios"] = results["audios"] * self.ratio
        results["amplify_ratio"] = self.ratio
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio})"


def hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney mel scale (librosa ``htk=False``): linear below 1 kHz (3 mels / 200 Hz), log above."""
    freq = np.asanyarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_part = freq >= min_log_hz
    mels = np.where(log_part, min_log_mel + np.log(np.maximum(freq, min_log_hz) / min_log_hz) / logstep, mels)
    return mels


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float = None) -> np.ndarray:
    """librosa's ``filters.mel`` (Slaney scale and norm): ``n_mels x (1 + n_fft // 2)`` float32.

    Triangles between consecutive mel-spaced frequencies, each scaled to unit area in Hz.
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2.0, 1 + n_fft // 2)
    mel_freqs = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2 : n_mels + 2] - mel_freqs[:n_mels]))[:, None]
    return weights.astype(np.float32)


def power_spectrogram(signal: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``|STFT|^2`` with a periodic Hann window and centred, zero-padded frames: ``(1 + n_fft//2) x T``."""
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ShapeError(f"MelSpectrogram: a clip must be a 1-d waveform, got shape {signal.shape}")
    padded = np.pad(signal, n_fft // 2, mode="constant")
    if padded.shape[0] < n_fft:
        raise ShapeError(f"MelSpectrogram: clip of {signal.shape[0]} samples is too short for n_fft={n_fft}")
    num_frames = 1 + (padded.shape[0] - n_fft) // hop_length
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    starts = np.arange(num_frames) * hop_length
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * window
    spectrum = np.fft.rfft(frames, n=n_fft, axis=1)
    return (np.abs(spectrum) ** 2).T.astype(np.float32)


@PIPELINES.register()
class MelSpectrogram(PipelineStep):
    """Mel spectrogram of each clip waveform (numpy port of ``librosa.feature.melspectrogram``).

    ``n_fft = round(sample_rate * window_size / 1000)``, ``hop = round(sample_rate *
    step_size / 1000)``. The output of a clip is ``fixed_length x n_mels`` (time x mel),
    truncated or edge-padded in time, i.e. the layout ``AudioFeatureSelector`` and
    ``FormatAudioShape`` use. (mmaction2 0.24 truncates/pads the *mel* axis by mistake, which
    fails or gives a ragged shape; this follows the documented intent.)

    Required keys: ``audios`` (``num_clips x samples``), ``sample_rate``, ``num_clips``.
    Added or modified keys: ``audios`` (float32, ``num_clips x fixed_length x n_mels``).

    Args:
        window_size: Window length in milliseconds. Default: 32.
        step_size: Hop in milliseconds. Default: 16.
        n_mels: Mel bands. Default: 80.
        fixed_length: Time frames per clip. Default: 128.
    """

    def __init__(self, window_size: int = 32, step_size: int = 16, n_mels: int = 80, fixed_length: int = 128):
        values = dict(window_size=window_size, step_size=step_size, n_mels=n_mels, fixed_length=fixed_length)
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"MelSpectrogram: {name} must be a positive int, got {value!r}")
        self.window_size = window_size
        self.step_size = step_size
        self.n_mels = n_mels
        self.fixed_length = fixed_length

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("audios", "sample_rate", "num_clips"), "MelSpectrogram")
        sample_rate = results["sample_rate"]
        n_fft = int(round(sample_rate * self.window_size / 1000))
        hop_length = int(round(sample_rate * self.step_size / 1000))
        filters = mel_filterbank(sample_rate, n_fft, self.n_mels)
        signals = results["audios"]
        mels = []
        for clip_idx in range(results["num_clips"]):
            mel = (filters @ power_spectrogram(signals[clip_idx], n_fft, hop_length)).T  # time x mel
            if mel.shape[0] >= self.fixed_length:
                mel = mel[: self.fixed_length]
            else:
                mel = np.pad(mel, ((0, self.fixed_length - mel.shape[0]), (0, 0)), mode="edge")
            mels.append(mel)
        results["audios"] = np.array(mels, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(window_size={self.window_size}), step_size={self.step_size}, "
            f"n_mels={self.n_mels}, fixed_length={self.fixed_length})"
        )
