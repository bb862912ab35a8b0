"""Diffeomorphisms and relative stability (thesis ch. 4): deformed digits over the (T, c) plane with the
admissible band (Fig. 1), δ and max Ξ against eqs. 3 and 13 (Fig. 8), D_f, G_f, R_f at initialization
and after training against P for an FC net and a small CNN (Figs. 3-right, 6), and R_f(P) of the
stripe model (Fig. 7).

python examples/diffeo.py                           # the quick defaults, minutes on 2 cores
python examples/diffeo.py --smoke                   # seconds, for the test suite
python examples/diffeo.py --interpolation gaussian  # Gaussian interpolation (App. C)
python examples/diffeo.py --paper --data-root D     # MNIST sizes from local files in D (a GPU)

Every option of `jamscope diffeo` is accepted (`--help`); a killed run resumes from --out/diffeo/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("diffeo"))
