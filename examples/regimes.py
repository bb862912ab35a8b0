"""Lazy vs feature learning (thesis ch. 3, 001 Fig. 4) and output fluctuations with ensembling (004):
test error, NTK change and output variance against α√h for several widths, the (h, α√h) phase
diagram, and ε(N), ε̄(N), ‖F − F̄‖, ‖F‖ against N across the jamming point.

python examples/regimes.py                          # the quick defaults, minutes on 2 cores
python examples/regimes.py --smoke                  # seconds, for the test suite
python examples/regimes.py --data stripe --dim 5    # the stripe model of 001 §5
python examples/regimes.py --paper --data-root D    # 001 Fig. 4's sizes, MNIST-10PCA from D (a GPU)

Every option of `jamscope regimes` is accepted (`--help`); a killed run resumes from --out/regimes/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("regimes"))
