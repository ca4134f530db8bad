"""Separate interpreters in separate threads run in parallel (invoke() is one C call that releases the GIL):
wall time of N invokes on each of T interpreters, T = 1 and 2, on the MobileNetV2 int8 benchmark network.

    python benchmarks/threads_parallel.py [--invokes 200]
"""
import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    import numpy as np

    import edgerun
    from networks import NETWORKS, _calibration
    from oracle import random_inputs, tf_convert

    ap = argparse.ArgumentParser()
    ap.add_argument("--invokes", type=int, default=200)
    args = ap.parse_args(argv)
    k = NETWORKS["mobilenet_v2"]()
    model = tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8, output_type=np.int8)

    def interpreter():
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], random_inputs([d])[0])
        return it

    def wall(n_threads):
        its = [interpreter() for _ in range(n_threads)]
        threads = [threading.Thread(target=lambda it=it: [it.invoke() for _ in range(args.invokes)]) for it in its]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    one, two = wall(1), wall(2)
    print(f"{args.invokes} invokes per interpreter: 1 thread {one * 1e3:.0f} ms, 2 threads (2x the work) "
          f"{two * 1e3:.0f} ms -> {2 * one / two:.2f}x the throughput of one thread (2.0 = perfectly parallel)")


if __name__ == "__main__":
    main()
