"""Audio tracks as ``.wav`` and log-mel features as ``.npy``.

mmaction2's ``tools/data/extract_audio.py`` and ``tools/data/build_audio_features.py``.

The features are those of mmaction2's ``AudioTools`` with its defaults (``spectrogram_type="lws"``):

1. decode the audio mono at 16 kHz and scale it to an RMS of 0.1 (``audio_normalize``);
2. STFT as the ``lws`` package computes it (``lws.lws(1280, 320, mode="speech").stft``): frames of
   1280 samples every 320 (80 ms / 20 ms), an analysis window ``sqrt(hann) / sqrt(OLA(hann))``
   whose squares overlap-add to exactly 1, and ``1280 - 320`` zeros before the signal and enough
   after it to complete the last frame: ``ceil(samples / 320) + 3`` frames;
3. magnitude -> 80 Slaney mel bands from 125 Hz to 7600 Hz (librosa's ``filters.mel``) ->
   ``20 * log10(max(1e-5, x)) - 20`` dB -> ``clip((dB + 100) / 100, 0, 1)``.

The result is ``time x mel`` float32 (50 rows a second), the layout ``LoadAudioFeature`` and
``AudioFeatureSelector`` read. Decoding and resampling use PyAV (FFmpeg's swresample) where
mmaction2 used librosa, so resampled samples differ slightly; the rest follows the formulas above.
"""

from __future__ import annotations

import functools
import os
from typing import Optional, Sequence

import numpy as np

from ...errors import ConfigError, VideoDecodeError
from .common import DONE, SKIPPED, JobReport, check_dirs, find_inputs, run_jobs

MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0


# --------------------------------------------------------------------------------- extraction
def extract_audio(src: str, dst: str, sample_rate: Optional[int] = None, channels: Optional[int] = None,
                  resume: bool = False) -> str:
    """Write the first audio track of ``src`` to ``dst`` as 16-bit PCM WAV.

    Args:
        src: Video (or audio) file.
        dst: Output ``.wav``; it appears under its name only once complete.
        sample_rate: Output rate in Hz. Default ``None``: the source's.
        channels: 1 or 2. Default ``None``: the source's (mono above 2 channels is not forced).
        resume: Skip when ``dst`` exists. Default ``False``.

    Returns:
        ``"done"`` or ``"skipped"``.

    Raises:
        VideoDecodeError: ``src`` is missing, corrupt or has no audio stream.
    """
    import av

    if resume and os.path.isfile(dst):
        return SKIPPED
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    partial = os.path.join(os.path.dirname(os.path.abspath(dst)), f".{os.path.basename(dst)}.partial.wav")
    try:
        source = av.open(src)
    except Exception as err:  # PyAV raises many error classes
        raise VideoDecodeError(f"cannot open {src!r}: {err}") from None
    samples = 0
    try:
        with source:
            if not source.streams.audio:
                raise VideoDecodeError(f"{src!r} has no audio stream")
            in_audio = source.streams.audio[0]
            rate = int(sample_rate or in_audio.codec_context.sample_rate)
            layout = {1: "mono", 2: "stereo"}.get(channels or in_audio.codec_context.channels, None)
            if layout is None:
                layout = in_audio.codec_context.layout.name
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            with av.open(partial, mode="w", format="wav") as target:
                stream = target.add_stream("pcm_s16le", rate=rate)
                stream.layout = layout
                try:
                    for frame in source.decode(in_audio):
                        frame.pts = None
                        for out in resampler.resample(frame):
                            samples += out.samples
                            target.mux(stream.encode(out))
                except av.error.FFmpegError as err:
                    raise VideoDecodeError(f"{src!r}: audio decoding failed: {err}") from None
                for out in resampler.resample(None):
                    samples += out.samples
                    target.mux(stream.encode(out))
                if samples == 0:
                    raise VideoDecodeError(f"the audio stream of {src!r} has no samples")
                target.mux(stream.encode())
        os.replace(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return DONE


def _extract_job(rel: str, src_dir: str, out_dir: str, **kwargs) -> str:
    return extract_audio(os.path.join(src_dir, rel), os.path.join(out_dir, os.path.splitext(rel)[0] + ".wav"),
                         **kwargs)


def extract_audios(src_dir: str, out_dir: str, level: int = 2, exts: Optional[Sequence[str]] = None,
                   num_workers: int = 1, resume: bool = False, sample_rate: Optional[int] = None,
                   channels: Optional[int] = None) -> JobReport:
    """Extract the audio of every video under ``src_dir`` into ``out_dir/<same path>.wav``.

    Args:
        src_dir: Input tree, videos ``level`` folders deep.
        out_dir: Output tree.
        level: 2 (default) for ``src_dir/<class>/<video>``, 1 for ``src_dir/<video>``.
        exts: Video extensions. Default ``None``: common video extensions.
        num_workers: Processes. Default 1.
        resume: Skip videos whose ``.wav`` exists. Default ``False``.
        sample_rate: Output rate in Hz. Default ``None``: the source's.
        channels: 1 or 2. Default ``None``: the source's.
    """
    check_dirs(src_dir, out_dir)
    if channels not in (None, 1, 2):
        raise ConfigError(f"channels must be 1 or 2, got {channels}")
    if sample_rate is not None and sample_rate <= 0:
        raise ConfigError(f"sample rate must be > 0, got {sample_rate}")
    videos = find_inputs(src_dir, level, exts)
    job = functools.partial(_extract_job, src_dir=src_dir, out_dir=out_dir, resume=resume,
                            sample_rate=sample_rate, channels=channels)
    return run_jobs(job, videos, num_workers, desc="extract audio")


# --------------------------------------------------------------------------------- features
def lws_window(fsize: int, fshift: int) -> np.ndarray:
    """The analysis window ``lws.lws(fsize, fshift)`` builds: ``sqrt(hann) / sqrt(OLA(hann))``.

    ``hann`` is the symmetric half-sample-offset Hann window ``0.5 * (1 - cos(pi * (2k + 1) / fsize))``;
    ``OLA`` sums it over shifts by ``fshift``, so the squared window overlap-adds to 1.
    """
    k = np.arange(fsize, dtype=np.float64)
    hann = 0.5 * (1.0 - np.cos(np.pi * (2.0 * k + 1.0) / fsize))
    shifts = -(-fsize // fshift)
    padded = np.concatenate([hann, np.zeros(shifts * fshift - fsize)])
    overlap = np.tile(padded.reshape(shifts, fshift).sum(axis=0), shifts)[:fsize]
    return np.sqrt(hann) / np.sqrt(overlap)


def lws_stft(signal: np.ndarray, fsize: int, fshift: int) -> np.ndarray:
    """``lws``'s STFT (``perfectrec=True``): ``frames x (fsize // 2 + 1)`` complex, see the module docstring."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ConfigError(f"lws_stft needs a 1-d signal, got shape {signal.shape}")
    if fsize % 2:
        raise ConfigError(f"the FFT size must be even, got {fsize}")
    residual = fsize % fshift
    pre = fsize - fshift if residual == 0 else fsize - residual
    post = (-len(signal)) % fshift
    padded = np.concatenate([np.zeros(pre), signal, np.zeros(post)])
    num_frames = len(padded) // fshift
    padded = np.concatenate([padded, np.zeros((num_frames - 1) * fshift + fsize - len(padded))])
    starts = np.arange(num_frames) * fshift
    frames = padded[starts[:, None] + np.arange(fsize)[None, :]] * lws_window(fsize, fshift)
    return np.fft.rfft(frames, n=fsize, axis=1)


def log_mel_spectrogram(audio: np.ndarray, sample_rate: int = 16000, fft_size: int = 1280, hop_size: int = 320,
                        num_mels: int = 80, fmin: float = 125.0, fmax: float = 7600.0) -> np.ndarray:
    """mmaction2's audio feature of a mono waveform: ``frames x num_mels`` float32 in ``[0, 1]``.

    Args:
        audio: Mono samples (float, any scale: they are RMS-normalized to 0.1 first).
        sample_rate: Sample rate of ``audio`` in Hz. Default 16000.
        fft_size: Frame length in samples. Default 1280.
        hop_size: Frame shift in samples. Default 320.
        num_mels: Mel bands. Default 80.
        fmin, fmax: Band edges in Hz. Defaults 125 and 7600.
    """
    from ..pipelines.audio import mel_filterbank

    if fmax > sample_rate / 2:
        raise ConfigError(f"fmax={fmax} Hz is above the Nyquist frequency of {sample_rate} Hz audio")
    audio = np.asarray(audio, dtype=np.float64)
    rms = max(1e-4, float(np.sqrt(np.mean(audio ** 2)))) if audio.size else 1e-4
    audio = audio * (0.1 / rms)
    magnitude = np.abs(lws_stft(audio, fft_size, hop_size)).T  # freq x time
    mel = mel_filterbank(sample_rate, fft_size, num_mels, fmin, fmax).astype(np.float64) @ magnitude
    min_level = np.exp(MIN_LEVEL_DB / 20 * np.log(10))
    db = 20 * np.log10(np.maximum(min_level, mel)) - REF_LEVEL_DB
    return np.clip((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB, 0, 1).T.astype(np.float32)


def audio_feature(src: str, dst: str, resume: bool = False, sample_rate: int = 16000, **kwargs) -> str:
    """Decode ``src`` (mono, ``sample_rate`` Hz, default 16000) and save its log-mel feature to ``dst`` (``.npy``).

    ``kwargs`` go to :func:`log_mel_spectrogram`. Returns ``"done"``, or ``"skipped"`` when
    ``resume`` (default ``False``) and ``dst`` exists.
    """
    from ..pipelines.audio import decode_audio

    if resume and os.path.isfile(dst):
        return SKIPPED
    if not os.path.isfile(src):
        raise VideoDecodeError(f"audio file {src!r} not found")
    feature = log_mel_spectrogram(decode_audio(src, sample_rate), sample_rate=sample_rate, **kwargs)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    partial = os.path.join(os.path.dirname(os.path.abspath(dst)), f".{os.path.basename(dst)}.partial.npy")
    try:
        np.save(partial, feature, allow_pickle=False)
        os.replace(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return DONE


def _feature_job(rel: str, src_dir: str, out_dir: str, **kwargs) -> str:
    return audio_feature(os.path.join(src_dir, rel), os.path.join(out_dir, os.path.splitext(rel)[0] + ".npy"),
                         **kwargs)


def build_audio_features(src_dir: str, out_dir: str, level: int = 2, exts: Optional[Sequence[str]] = ("wav",),
                         num_workers: int = 1, resume: bool = False, sample_rate: int = 16000,
                         fft_size: int = 1280, hop_size: int = 320, num_mels: int = 80) -> JobReport:
    """Write the log-mel feature of every audio file under ``src_dir`` to ``out_dir/<same path>.npy``.

    Args:
        src_dir: Input tree (e.g. the output of :func:`extract_audios`), files ``level`` folders deep.
        out_dir: Output tree.
        level: 2 (default) for ``src_dir/<class>/<file>``, 1 for ``src_dir/<file>``.
        exts: Input extensions. Default ``("wav",)``; any file with an audio stream works (videos too).
        num_workers: Processes. Default 1.
        resume: Skip files whose ``.npy`` exists. Default ``False``.
        sample_rate, fft_size, hop_size, num_mels: See :func:`log_mel_spectrogram`. Defaults 16000,
            1280, 320, 80.
    """
    check_dirs(src_dir, out_dir)
    for name, value in (("sample rate", sample_rate), ("FFT size", fft_size), ("hop size", hop_size),
                        ("number of mel bands", num_mels)):
        if value <= 0:
            raise ConfigError(f"{name} must be > 0, got {value}")
    if sample_rate < 2 * 7600:
        raise ConfigError(f"sample rate must be >= 15200 Hz (the mel bands reach 7600 Hz), got {sample_rate}")
    files = find_inputs(src_dir, level, exts)
    job = functools.partial(_feature_job, src_dir=src_dir, out_dir=out_dir, resume=resume, sample_rate=sample_rate,
                            fft_size=fft_size, hop_size=hop_size, num_mels=num_mels)
    return run_jobs(job, files, num_workers, desc="audio features")
