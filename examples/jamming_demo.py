"""The jamming transition in a few lines: N_Δ/N against P/N for seed ensembles of ReLU nets (000 Fig. 6a).

python examples/jamming_demo.py            # the `make demo` sizes, ~1.5 min on 2 cores
python examples/jamming_demo.py --smoke    # seconds, for the test suite
"""

import argparse
from pathlib import Path

import jax

import jamscope as js
from jamscope.demo import jamming_demo
from jamscope.plot import jamming_demo_figure


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--out", type=Path, default=Path("out/examples"))
    cli.add_argument("--smoke", action="store_true", help="tiny sizes, for tests")
    args = cli.parse_args()
    sizes = dict(n_train=60, widths=(2, 8), seeds=2, steps=500, decay_every=250) if args.smoke else {}
    results = jamming_demo(jax.random.PRNGKey(0), progress=not args.smoke, **sizes)
    js.io.save_netcdf(results, args.out / "jamming_demo.nc")
    jamming_demo_figure(results).savefig(args.out / "jamming_demo.png", dpi=120)
    print((results["n_delta"] / results["n_params"]).median("seed").to_series())


if __name__ == "__main__":
    main()
