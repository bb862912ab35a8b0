"""The jamming transition of 000 (§III–VI) with certified end states: N_Δ/N against P/N for
L = 2, 3, P/N* with its bracket from certified runs and its trend with N and with the training
time, the Hessian spectra and the gap distributions near jamming (000 Figs. 5c, 6, 7, 8).

python examples/jamming.py                       # the quick defaults (= make demo), minutes on 2 cores
python examples/jamming.py --smoke               # seconds, for the test suite
python examples/jamming.py --reference           # the finite-size study, N ≈ 100–800 (≤ 45 min)
python examples/jamming.py --paper               # 000's sizes (N ≈ 8000, d = h): a GPU, many hours
python examples/jamming.py --activation tanh --newton yes   # 000 Figs. 6d, 7e–g, 8c–d, Newton test

Every option of `jamscope jamming` is accepted (`--help`); a killed run resumes from --out/jamming/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("jamming"))
