"""Same key → same bits in two separate processes: training (SGD, with its batch randomness), the
Hessian parts, the NTK and diffeomorphism samples. Each process writes its arrays to an .npz file;
the two files must be equal entry for entry, bit for bit."""

import os
import subprocess
import sys

import numpy as np

WORKER = """
import sys
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import jamscope as js

key = jax.random.PRNGKey(7)
data = js.data.random_sphere(key, n_train=40, dim=4)
loss = js.QuadraticHinge(margin=0.5)
model = js.FCNet(jax.random.fold_in(key, 1), 4, 6, 2, "relu")
trained, history = js.train.sgd(model, loss, data, key=jax.random.fold_in(key, 2), steps=150, batch_size=10,
                                progress=False)
parts = js.curvature.decompose(loss, trained, data)
images = jax.random.normal(jax.random.fold_in(key, 3), (2, 1, 12, 12))
diffeo = js.MaxEntDiffeo(temperature=0.01, cutoff=4)
field = diffeo.field(diffeo.coefficients(jax.random.fold_in(key, 4)), 12)
out = {
    "weights": js.nets.flat_params(trained), "loss": history.loss,
    "h": parts.h, "h0": parts.h0, "hp": parts.hp,
    "ntk": js.ntk.ntk(trained, data.x[:10]),
    "field": field, "deformed": js.deform(images, field),
}
np.savez(sys.argv[1], **{k: np.asarray(v) for k, v in out.items()})
"""


def test_same_key_gives_the_same_bits_in_two_processes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    paths = [tmp_path / f"run{i}.npz" for i in range(2)]
    runs = [subprocess.Popen([sys.executable, str(script), str(p)], env=os.environ.copy()) for p in paths]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    first, second = (np.load(p) for p in paths)
    assert sorted(first.files) == sorted(second.files) == sorted(
        ["weights", "loss", "h", "h0", "hp", "ntk", "field", "deformed"]
    )
    for name in first.files:
        assert first[name].dtype == np.float64 and np.all(np.isfinite(first[name])), name
        assert first[name].tobytes() == second[name].tobytes(), name
    assert np.any(first["field"] != 0)  # T > 0: a real deformation
