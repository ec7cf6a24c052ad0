"""Where the operator's CPU goes in the throughput scenario of `make bench`: py-spy samples the operator process while
NAMESPACES namespaces take 5 requests each, then the heaviest frames are printed (inclusive share of the samples).

    make profile [NAMESPACES=40]       # the raw samples stay in $PROFILE_OUT (default profile-operator.txt)

The figures of docs/performance.md's "Profile" section come from this script.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]

from bench import SIZES, Bench, cpu_seconds  # noqa: E402  (the benchmark's own harness)

TOP = 30


def top_frames(raw: Path, top: int = TOP) -> list[tuple[float, str]]:
    """Inclusive share of each frame over py-spy's raw (collapsed-stack) output."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            counts[frame] += int(count)
    skip = ("runpy", "asyncio/base_events", "asyncio/runners", "asyncio/events", "__main__", "cli.py")
    return [
        (n / max(1, total) * 100, f) for f, n in counts.most_common(top * 2) if not any(s in f for s in skip)
    ][:top]


def main() -> int:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("profile: py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    namespaces = int(os.environ.get("NAMESPACES", "40"))
    out = Path(os.environ.get("PROFILE_OUT", "profile-operator.txt")).resolve()
    size = SIZES["small"]
    size = size.__class__(**{**size.__dict__, "throughput_namespaces": namespaces})
    bench = Bench(size, Path(tempfile.mkdtemp(prefix="deployreq-profile-")))
    try:
        bench.operator.start()
        spaces = [bench.namespace(containers=5) for _ in range(namespaces)]
        assert bench.operator.proc is not None
        pid = bench.operator.proc.pid
        recorder = subprocess.Popen(
            [spy, "record", "--format", "raw", "--rate", "100", "--output", str(out), "--pid", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)  # py-spy attaches
        cpu, started = cpu_seconds(pid), time.time()
        bench.five_requests_each(spaces)
        seconds = time.time() - started
        cpu = cpu_seconds(pid) - cpu
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)
    finally:
        bench.close()
    requests = 5 * namespaces
    print(
        f"{requests} requests in {seconds:.1f}s ({requests / seconds:.1f}/s under py-spy); "
        f"operator CPU {cpu:.2f}s = {cpu / requests * 1000:.1f} ms per request"
    )
    for share, frame in top_frames(out):
        print(f"{share:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
