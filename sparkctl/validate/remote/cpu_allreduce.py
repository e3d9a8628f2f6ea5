"""CPU all-reduce over MPI (mpi4py), run by `sparkctl validate` on lab nodes under mpirun.

Runs on the node's own python3 (stdlib + mpi4py only). Rank 0 prints one JSON object per
message size; nothing else goes to stdout. Every element is checked after each size, so a
corrupting path shows as `wrong` > 0 instead of a fast wrong answer.
"""

import array
import json
import sys
import time

from mpi4py import MPI


def main(argv):
    min_bytes, max_bytes, target_s = int(argv[1]), int(argv[2]), float(argv[3])
    comm = MPI.COMM_WORLD
    rank, nranks = comm.Get_rank(), comm.Get_size()
    expected = float(nranks * (nranks + 1) // 2)  # each rank contributes rank + 1
    size = min_bytes
    while size <= max_bytes:
        count = size // 4
        send = array.array("f", [rank + 1.0]) * count
        recv = array.array("f", bytes(4 * count))
        comm.Allreduce([send, MPI.FLOAT], [recv, MPI.FLOAT], op=MPI.SUM)  # warm-up
        # Enough iterations to run about target_s at the first estimate, at least one.
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce([send, MPI.FLOAT], [recv, MPI.FLOAT], op=MPI.SUM)
        first = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
        iters = max(1, min(50, int(target_s / max(first, 1e-6))))
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(iters):
            comm.Allreduce([send, MPI.FLOAT], [recv, MPI.FLOAT], op=MPI.SUM)
        elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX) / iters
        good = array.array("f", [expected]) * count
        wrong = 0 if recv.tobytes() == good.tobytes() else sum(
            1 for value in recv if value != expected)
        wrong = comm.allreduce(wrong, op=MPI.SUM)
        if rank == 0:
            algbw = size / elapsed / 1e9
            print(json.dumps({
                "size_bytes": size, "count": count, "type": "float", "redop": "sum",
                "iterations": iters, "time_us": round(elapsed * 1e6, 1),
                "algbw_GBps": round(algbw, 4),
                "busbw_GBps": round(algbw * 2 * (nranks - 1) / nranks, 4),
                "wrong": wrong, "nranks": nranks}), flush=True)
        size *= 2


if __name__ == "__main__":
    main(sys.argv)
