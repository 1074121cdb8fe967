#!/usr/bin/env python3
"""Cut a fuzz corpus down to at most N files, keeping as much edge coverage as possible.

`cargo fuzz cmin` keeps every file that adds a feature (edge hit-count buckets included), which
for the loader is thousands of files. This runs the fuzz binary once in libFuzzer's set-cover
merge mode (which records every input's full feature list) with edge coverage only
(-use_counters=0) to learn which edges each input covers, then picks inputs greedily (most new edges first, smaller first on ties) until N are chosen or nothing new
is covered, and copies them into OUT (emptied first), named by content hash as libFuzzer does.

Usage (from fuzz/, after `cargo fuzz build loader`):
  python3 cap_corpus.py --max 200 target/x86_64-unknown-linux-gnu/release/loader \
      corpus/loader-work corpus/loader
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=200)
    ap.add_argument("binary")
    ap.add_argument("source")
    ap.add_argument("out")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ctl = os.path.join(tmp, "control.txt")
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        subprocess.run(
            [a.binary, "-set_cover_merge=1", "-use_counters=0", f"-merge_control_file={ctl}",
             "-max_len=1048576", empty, a.source],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        lines = open(ctl).read().split("\n")
    n = int(lines[0])
    files = lines[2:2 + n]
    cov: dict[int, set[int]] = {}
    for line in lines[2 + n:]:
        p = line.split()
        if p and p[0] == "FT":
            cov[int(p[1])] = set(map(int, p[2:]))
    every = set().union(*cov.values()) if cov else set()
    size = {i: os.path.getsize(f) for i, f in enumerate(files)}

    chosen: list[int] = []
    covered: set[int] = set()
    while len(chosen) < a.max:
        best = max(cov, key=lambda i: (len(cov[i] - covered), -size[i]), default=None)
        if best is None or not cov[best] - covered:
            break
        chosen.append(best)
        covered |= cov.pop(best)

    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)
    total = 0
    for i in chosen:
        data = open(files[i], "rb").read()
        total += len(data)
        with open(os.path.join(a.out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
    print(f"kept {len(chosen)} of {n} inputs ({total} bytes), covering {len(covered)} of "
          f"{len(every)} edges ({100 * len(covered) / max(1, len(every)):.1f}%)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
