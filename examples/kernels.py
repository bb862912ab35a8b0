"""Kernel learning curves (thesis ch. 6): teacher–student E MSE(n) on spheres S^d with the fitted β
against Theorem 1 (Fig. 2), regression and SVM learning curves on digits parity with the kernel-PCA
prediction (Figs. 1, 3), and the effective dimension of spheres and digits (Fig. 4).

python examples/kernels.py                           # the quick defaults, minutes on 2 cores
python examples/kernels.py --smoke                   # seconds, for the test suite
python examples/kernels.py --sample-teacher yes      # the paper's protocol: one sampled teacher per set
python examples/kernels.py --paper --data-root D     # MNIST from local files in D, n up to 8192 (a GPU)

Every option of `jamscope kernels` is accepted (`--help`); a killed run resumes from --out/kernels/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("kernels"))
