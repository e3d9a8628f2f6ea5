"""Print how fast `analyze` detects, parses and judges the real fixtures (figures, no asserts).

Run: .venv/bin/python bench/bench_analyze.py [ROUNDS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sparkctl.checks.analyze import analyze_bytes, analyze_text

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    files = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    blobs = [(p.name, p.read_bytes()) for p in files]
    total_bytes = sum(len(b) for _, b in blobs)
    slowest: dict[str, float] = {}
    start = time.perf_counter()
    for _ in range(rounds):
        for name, data in blobs:
            t0 = time.perf_counter()
            analyze_bytes(data, name=name)
            slowest[name] = max(slowest.get(name, 0.0), time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    per_file_ms = elapsed / (rounds * len(blobs)) * 1e3
    print(f"files: {len(blobs)}  bytes: {total_bytes}  rounds: {rounds}")
    print(f"total: {elapsed:.3f} s  mean per file: {per_file_ms:.3f} ms  "
          f"throughput: {rounds * total_bytes / elapsed / 1e6:.2f} MB/s")
    for name, seconds in sorted(slowest.items(), key=lambda kv: -kv[1])[:3]:
        print(f"slowest: {name}  {seconds * 1e3:.3f} ms")
    # Pasted the unkind way: Ray prefix on every line, tabs collapsed, noise between sections.
    sys.path.insert(0, str(FIXTURES.parents[1]))
    from tests.unit.checks import metamorphic as M

    spec = M.Spec(prefix="ray", tabs="collapse", noise_at=(1, 5, 9), prompts=True)
    pasted = [(name, M.apply(data.decode("utf-8", "replace"), spec)) for name, data in blobs]
    t0 = time.perf_counter()
    for name, text in pasted:
        analyze_text(text, name=name)
    print(f"pasted variants ({spec.describe()}): {len(pasted)} files in "
          f"{time.perf_counter() - t0:.3f} s")
    session = "\n".join(f"nvidia@spark-1:~$ cat {name}\n{text}" for name, text in pasted[:40])
    t0 = time.perf_counter()
    result = analyze_text(session, name="session")
    print(f"one terminal session of 40 outputs ({len(session) / 1e3:.0f} kB): "
          f"{len(result.parts or [])} parts in {time.perf_counter() - t0:.3f} s")
    big = b"".join(data for name, data in blobs if name.endswith("_socket_fallback.txt")) * 200
    t0 = time.perf_counter()
    analyze_bytes(big, name="big")
    print(f"one {len(big) / 1e6:.1f} MB NCCL_DEBUG-laden nccl-tests log: "
          f"{time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
