"""Sampling profiles of the running processes with py-spy, summarised as top functions."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")


@dataclass
class Recording:
    """A py-spy recording in progress (stopped with SIGINT, which makes py-spy write it)."""

    name: str
    path: Path
    proc: subprocess.Popen[bytes] | None

    def stop(self) -> dict[str, Any]:
        """Stop recording and summarise it."""
        if self.proc is None:
            return {"error": "py-spy is not installed"}
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if not self.path.exists():
            return {"error": f"py-spy wrote nothing (exit {self.proc.returncode})"}
        return summarise(self.path.read_text())


def record(name: str, pid: int, out_dir: Path, rate: int = 50) -> Recording:
    """Start sampling `pid` (all threads, idle excluded) into `out_dir/profile-<name>.txt`."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    path = out_dir / f"profile-{name}.txt"
    if not Path(binary).exists():
        return Recording(name, path, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
         "--format", "raw", "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return Recording(name, path, proc)


def summarise(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Self and inclusive shares of the top functions in py-spy's collapsed-stack output."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
    if not total:
        return {"samples": 0}

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]

    ours = Counter({f: n for f, n in incl.items() if _ours(f)})
    return {"samples": total, "self_pct": share(own), "inclusive_pct_threadline": share(ours)}


def _ours(frame: str) -> bool:
    return any(f"({pkg}/" in frame or f"/{pkg}/" in frame for pkg in _PACKAGES)


_PACKAGES = ("services", "profile_store", "ingest", "api", "schemas", "runtime")
