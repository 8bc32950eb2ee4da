"""Data preparation: the tools mmaction2 users run on a video folder before training.

* :mod:`.file_list`: annotation lists from a class-per-folder tree (``tools/data/build_file_list.py``);
* :mod:`.rawframes`: frames as ``img_00001.jpg`` ... (``tools/data/build_rawframes.py``, RGB only);
* :mod:`.resize`: videos with their short side resized (``tools/data/resize_videos.py``);
* :mod:`.audio`: audio tracks as ``.wav`` (``extract_audio.py``) and log-mel features as ``.npy``
  (``build_audio_features.py``).

Every tool walks its input tree with :func:`.common.find_files`, runs one job per file (a process
pool when ``num_workers > 1``) and returns a :class:`.common.JobReport`: a file that is missing,
unreadable or corrupt is counted and reported, and the others are still processed.
"""
