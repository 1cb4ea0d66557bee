"""How should a storyboard's frames be decoded? Three ways, side by side, on 60 s 1080p clips.

- one pass (what `media.storyboard` does): demux once, decode only from the keyframe before
  each wanted frame (packets between are held back undecoded and dropped at a keyframe);
- seek per tile: seek to the keyframe before each wanted frame, decode forward to it;
- decode all: decode every frame, keep the wanted ones.

Each with FFmpeg's own threads off (one decoding thread) and on (auto). Every run is a fresh
process: one table of wall time, CPU time, frames decoded and peak resident memory. The clips
(H.264, 30 fps, keyframes every 250 frames as x264's default, and every 30) are made once.

    .venv/bin/python bench/storyboards.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

CLIPS = {"keyframe every 8.3 s": 250, "keyframe every 1 s": 30}
STRATEGIES = ("one pass", "seek per tile", "decode all")


def make_clip(path: Path, keyint: int) -> None:
    import av
    from av.video.frame import PictureType

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "g": str(keyint)}
        graph = av.filter.Graph()
        source = graph.add("testsrc2", "size=1920x1080:rate=30:duration=60")
        graph.link_nodes(source, graph.add("format", "yuv420p"), graph.add("buffersink"))
        graph.configure()
        while True:
            try:
                frame = graph.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            # The source marks every frame as a keyframe; let the encoder choose.
            frame.pict_type = PictureType.NONE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def run_one(path: str, strategy: str, threads: str) -> dict[str, float]:
    """In a fresh process: sample 60 tiles' frames (one a second) the given way."""
    import av

    from reelvault.media.probe import open_video
    from reelvault.media.storyboard import frames_at

    decoded = 0
    started, cpu = time.perf_counter(), time.process_time()
    with open_video(path) as (container, stream):
        stream.codec_context.thread_type = "AUTO" if threads == "auto" else "SLICE"
        stream.codec_context.thread_count = 0 if threads == "auto" else 1
        time_base = stream.time_base or Fraction(1, av.time_base)
        targets = [int(second / time_base) for second in range(60)]
        if strategy == "one pass":
            decoded = -1  # inside the decoder loop of media.storyboard: not counted
            frames = list(frames_at(container, stream, targets))
        elif strategy == "seek per tile":
            frames = []
            for target in targets:
                container.seek(target, stream=stream, backward=True)
                for frame in container.decode(stream):
                    decoded += 1
                    if frame.pts is not None and frame.pts >= target:
                        frames.append(frame)
                        break
        else:
            frames, wanted = [], iter(targets)
            target = next(wanted, None)
            for frame in container.decode(stream):
                decoded += 1
                while target is not None and frame.pts >= target:
                    frames.append(frame)
                    target = next(wanted, None)
    assert len(frames) == 60, len(frames)
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "decoded": decoded,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    scratch = Path(tempfile.mkdtemp(prefix="storyboard-bench-"))
    print(
        f"{'clip':<22} {'strategy':<14} {'threads':<7} {'wall s':>7} {'cpu s':>6} "
        f"{'frames':>6} {'peak MiB':>8}"
    )
    for name, keyint in CLIPS.items():
        clip = scratch / f"1080p-g{keyint}.mp4"
        make_clip(clip, keyint)
        for strategy in STRATEGIES:
            for threads in ("1", "auto"):
                runs = [
                    json.loads(
                        subprocess.run(
                            [sys.executable, __file__, "--one", str(clip), strategy, threads],
                            check=True,
                            capture_output=True,
                            text=True,
                        ).stdout
                    )
                    for _ in range(args.runs)
                ]
                print(
                    f"{name:<22} {strategy:<14} {threads:<7} "
                    f"{statistics.median(r['wall'] for r in runs):>7.2f} "
                    f"{statistics.median(r['cpu'] for r in runs):>6.2f} "
                    f"{runs[0]['decoded'] if runs[0]['decoded'] >= 0 else '-':>6} "
                    f"{max(r['peak_mib'] for r in runs):>8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
