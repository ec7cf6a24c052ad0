"""Giving freed heap back: on glibc the RSS of a process that freed a large heap drops after a trim."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from deployreq.observe import heap

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import sys
sys.path.insert(0, "operator")
from deployreq.observe import heap

def rss_kb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])

blocks = [bytearray(600) for _ in range(200_000)]  # above pymalloc's 512 bytes: glibc's heap
blocks.append(bytearray(600))  # a live block at the top keeps glibc from shrinking the heap by itself
keep = blocks.pop()
del blocks
before = rss_kb()
trimmed = heap.trim()
print(trimmed, before, rss_kb())
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_trim_returns_freed_heap_to_the_os() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    trimmed, before, after = out[0] == "True", int(out[1]), int(out[2])
    assert trimmed
    assert before - after > 50_000, (before, after)  # over 50 MB of the ~120 MB freed went back


def test_trim_is_harmless_to_call_again() -> None:
    heap.trim()
    heap.trim()
