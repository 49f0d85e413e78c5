"""Mediasight: settings, composition root and command line."""

import os

# numpy's BLAS would start a thread per core for every matmul, on top of our CPU pool's threads: on a
# 2-core machine that oversubscription made text embedding 2–7× slower. One BLAS thread per pool thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
