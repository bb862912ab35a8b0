#!/usr/bin/env bash
# Build the separate virtual environment `.venv-nt` (repo root) for the neural-tangents reference
# of benchmarks/bench_ntk.py.
#
#     bash benchmarks/neural_tangents_env.sh          # build once; later runs only check it
#     FORCE=1 bash benchmarks/neural_tangents_env.sh  # rebuild from scratch
#     PYTHON=python3.11 bash benchmarks/...           # choose the base interpreter
#
# neural-tangents 0.6.5 (the last release) only imports with an old JAX (it uses jax.core names
# removed later), so it gets its own environment, pinned to jax/jaxlib 0.4.23 and numpy < 2.
# `import neural_tangents` also imports its experimental TF bridge, hence tensorflow (2.15.1, the
# last release before Keras 3, which accepts numpy < 2 like jax 0.4.23) and tf2jax: about 2 GB
# on disk, a few minutes to install. The script ends by importing neural_tangents and computing one
# tiny empirical NTK, and exits non-zero if that fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-nt"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.jamscope-nt-env-ok"
# Bump when the pins below change, so that an existing environment gets rebuilt.
PINS_VERSION="1"

check() {
    export TF_CPP_MIN_LOG_LEVEL=3
    "$VENV/bin/python" - <<'EOF'
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np

f = lambda p, x: jnp.tanh(x @ p)
k = nt.empirical_ntk_fn(f, trace_axes=(), vmap_axes=0, implementation=3)(
    jnp.ones((3, 2)), None, jnp.ones((2, 1)))
assert k.shape == (3, 3, 1, 1) and np.all(np.isfinite(k)), k
print(f"neural_tangents {nt.__version__}, jax {jax.__version__}, numpy {np.__version__}: OK")
EOF
}

if [[ "${FORCE:-0}" != "1" && -f "$STAMP" && "$(cat "$STAMP")" == "$PINS_VERSION" ]]; then
    echo "$VENV already built (delete it or set FORCE=1 to rebuild)"
    check
    exit 0
fi

"$PYTHON" -c 'import sys; assert (3, 9) <= sys.version_info[:2] <= (3, 11), sys.version' || {
    echo "jax 0.4.23 + tensorflow 2.15 need Python 3.9-3.11; set PYTHON=..." >&2
    exit 1
}

start=$SECONDS
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "jax==0.4.23" "jaxlib==0.4.23" "numpy<2" "scipy<1.13" \
    "tensorflow==2.15.1" "tf2jax==0.3.6" "neural-tangents==0.6.5"
check
echo "$PINS_VERSION" >"$STAMP"
echo "built $VENV in $((SECONDS - start)) s ($(du -sh "$VENV" | cut -f1))"
