#!/usr/bin/env python3
"""What a bench/webhook.sh run's latencies are made of, from the SQLite files oha wrote.

For each object and server: latency percentiles (as the bench counts them: from when the
request was due, the first SETTLE seconds of each round left out), and how oha sent the
requests. oha paces `-q` with a timer of 1 ms, so at 2,000 requests/s it sends them in bursts:
two at a tick, four when a tick came late, more after a stall. Requests are grouped into
bursts by their actual send times (gaps under 300 us), and the p99 is given per burst size and
position, with the share of the p99 tail that came in bursts of 6 or more (catch-up after a
stall of oha or of the machine).

Usage: bench/webhook-tail.py [WORK] [--settle S]
WORK defaults to $TMPDIR/mlguard-webhook-bench (where bench/webhook.sh leaves its files).
"""
import argparse
import collections
import os
import sqlite3
import sys

GAP = 300e-6  # seconds between two sends that start a new burst
BIG = 6  # a burst of at least this many requests is a catch-up


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        epilog="WORK defaults to $TMPDIR/mlguard-webhook-bench (where bench/webhook.sh leaves its files).",
    )
    parser.add_argument("work", nargs="?", metavar="WORK",
                        default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "mlguard-webhook-bench"))
    parser.add_argument("--settle", type=float, default=1.0, metavar="S",
                        help="seconds at the start of each round left out, as the bench does (default 1)")
    args = parser.parse_args(argv)
    found = False
    for body in ("pod", "pytorchjob", "isvc"):
        for server in ("webhook", "baseline"):
            path = os.path.join(args.work, f"{body}-{server}.db")
            if not os.path.exists(path):
                continue
            found = True
            report(body, server, sqlite3.connect(path), args.settle)
    if not found:
        print(f"no <object>-<server>.db files in {args.work}: run bench/webhook.sh first", file=sys.stderr)
        return 2
    return 0


def report(body, server, db, settle):
    rows = db.execute(
        "SELECT run, start, COALESCE(start_latency_correction, start), end FROM oha "
        "WHERE COALESCE(start_latency_correction, start) >= ? ORDER BY run, start",
        (settle,),
    ).fetchall()
    if not rows:
        return
    latency = sorted(end - due for _, _, due, end in rows)
    pct = lambda q: latency[min(len(latency) - 1, int(q * len(latency)))] * 1e6
    p99 = pct(0.99) / 1e6
    # Bursts by actual send time, within a round (oha's `run`).
    burst, size, pos, prev = 0, collections.Counter(), [], None
    ids = []
    for run, sent, _, _ in rows:
        if prev is None or run != prev[0] or sent - prev[1] >= GAP:
            burst += 1
            k = 0
        ids.append(burst)
        pos.append(k)
        size[burst] += 1
        k += 1
        prev = (run, sent)
    by = collections.defaultdict(list)
    tail = big = 0
    for b, p, (_, _, due, end) in zip(ids, pos, rows):
        n = size[b]
        by[(n, p) if n < 5 else (5, 0)].append(end - due)
        if end - due >= p99:
            tail += 1
            big += n >= BIG
    print(
        f"{body:<11} {server:<9} n={len(rows)}  p50 {pct(.5):.0f}  p90 {pct(.9):.0f}  "
        f"p99 {pct(.99):.0f}  p99.9 {pct(.999):.0f} us;  p99 tail from bursts of {BIG}+: {big} of {tail}"
    )
    parts = []
    for (n, p), v in sorted(by.items()):
        v.sort()
        label = f"{n}:{p}" if n < 5 else "5+"
        parts.append(f"{label} n={len(v)} p99={v[min(len(v) - 1, int(.99 * len(v)))] * 1e6:.0f}")
    print("    by burst size:position  " + "  ".join(parts))


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # a closed pipe (`| head`) is not an error
        sys.stderr.close()
        sys.exit(0)
