"""The jamming transition of 000 (§III–VI): N_Δ/N against P/N for L = 2, 3, 5, N* against P, the
Hessian spectra and the gap distributions near jamming (000 Figs. 5c, 6, 7, 8).

python examples/jamming.py                       # the quick defaults (= make demo), minutes on 2 cores
python examples/jamming.py --smoke               # seconds, for the test suite
python examples/jamming.py --paper               # 000's sizes (N ≈ 8000, d = h): a GPU, many hours
python examples/jamming.py --data digits         # sklearn digits, PCA to d = 10 (000 §VII on MNIST)
python examples/jamming.py --activation tanh     # 000 Figs. 6d, 7e–g, 8c–d

Every option of `jamscope jamming` is accepted (`--help`); results resume from --out/jamming.nc.
"""

import sys

from jamscope import cli

SMOKE = ["--n-train", "40", "--depths", "1,2", "--p-over-n", "0.7,1.5,6", "--seeds", "2", "--steps", "400",
         "--decay-every", "200", "--quiet"]  # fmt: skip

if __name__ == "__main__":
    sys.exit(cli.example_main("jamming", SMOKE))
