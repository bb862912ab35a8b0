"""The package's front door: `import jamscope as js` exposes every library namespace and loads no
experiment module and no matplotlib (importing the library must not choose a plotting backend)."""

import subprocess
import sys

LIBRARY = (
    "aging", "curvature", "data", "diffeo", "end_state", "ensemble", "fits", "io", "jamming", "kernels",
    "learning_curves", "losses", "nets", "ntk", "regimes", "regression", "stability", "teacher_student",
    "train", "typing",
)  # fmt: skip
EXPERIMENTS = (
    "experiments", "experiments.jamming", "experiments.regimes", "experiments.diffeo", "experiments.kernels",
    "experiments.aging", "cli",
)  # fmt: skip


def test_import_exposes_the_library_and_loads_no_experiment_nor_matplotlib():
    script = (
        "import sys, jamscope as js\n"
        "js.kernels.Laplace; js.jamming.n_delta; js.learning_curves.fit_decay\n"  # the README's names
        f"missing = [n for n in {LIBRARY!r} if not hasattr(js, n) or n not in js.__all__]\n"
        f"loaded = [n for n in {EXPERIMENTS!r} if 'jamscope.' + n in sys.modules]\n"
        "print(missing, loaded, 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[-2] == "[] [] False"
