"""Aging of SGD in underparametrized networks (003): the MSD Δ(t_w, t_w + t) for several waiting times,
t*(t_w) with the fitted subaging exponent μ and its bootstrap interval (Figs. 2, 5, 6), and the loss,
accuracy, gradient-norm and Hessian curves (Figs. 1, 4, 7, A.1, A.3), on the synthetic 2-D, 4-class
stand-in for LJAT19 and on digits (the MNIST stand-in).

python examples/aging.py                              # the quick defaults, about 8 minutes on 2 cores
python examples/aging.py --smoke                      # seconds, for the test suite
python examples/aging.py --data digits --runs 16      # one data set, more runs
python examples/aging.py --paper --data-root D        # MNIST from local files in D, 50 runs (a GPU)

Every option of `jamscope aging` is accepted (`--help`); a killed run resumes from --out/aging/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("aging"))
