"""Kernel learning curves (thesis ch. 6): teacher–student E MSE(n) on spheres S^d with the fitted β
against Theorem 1 (Fig. 2), regression and SVM learning curves on digits parity with the kernel-PCA
prediction (Figs. 1, 3), and the effective dimension of spheres and digits (Fig. 4).

python examples/kernels.py                           # the quick defaults, minutes on 2 cores
python examples/kernels.py --smoke                   # seconds, for the test suite
python examples/kernels.py --sample-teacher yes      # the paper's protocol: one sampled teacher per set
python examples/kernels.py --paper --data-root D     # MNIST from local files in D, n up to 8192 (a GPU)

Every option of `jamscope kernels` is accepted (`--help`); results resume from --out/kernels.nc.
"""

import sys

from jamscope import cli

SMOKE = ["--dims", "1", "--teachers", "laplace", "--ns", "32,64", "--n-test", "40", "--repeats", "2",
         "--fit-low", "32", "--data-kernels", "laplace", "--data-ns", "32,64", "--data-n-test", "60",
         "--data-repeats", "2", "--data-fit-low", "32", "--kpca-points", "300", "--sphere-dims", "2",
         "--sphere-ns", "32,64", "--nn-repeats", "2", "--data-nn-ns", "32,64", "--quiet"]  # fmt: skip

if __name__ == "__main__":
    sys.exit(cli.example_main("kernels", SMOKE))
