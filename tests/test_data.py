"""Data: sphere sampling, normalisation, PCA, parity, digits, Dataset checks, local-file readers."""

import gzip
import math
import pickle
import struct

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from jamscope import data

KEY = jax.random.PRNGKey(0)
seeds = st.integers(0, 2**31 - 1)


def flat_norms(x):
    a = np.asarray(x)
    return np.linalg.norm(a.reshape(a.shape[0], -1), axis=1)


# --- random sphere (000 §III) -----------------------------------------------------------------


@settings(max_examples=6)  # every new (n, d) compiles the sampler (≈ 0.7 s on a small CPU)
@given(
    n=st.integers(1, 40),
    d=st.integers(1, 30),
    dtype=st.sampled_from([jnp.float32, jnp.float64]),
    seed=seeds,
)
def test_random_sphere_points_on_sphere_with_pm1_labels(n, d, dtype, seed):
    ds = data.random_sphere(jax.random.PRNGKey(seed), n, d, dtype=dtype)
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(flat_norms(ds.x), math.sqrt(d), rtol=rtol)
    assert set(np.unique(np.asarray(ds.y))) <= {-1.0, 1.0}
    assert ds.x.dtype == ds.y.dtype == dtype
    assert ds.x_test is None and ds.n_test == 0
    assert ds.binary and ds.n_classes == 2 and ds.n_train == n and ds.input_shape == (d,)


def test_random_sphere_same_key_same_bits_other_key_other_bits():
    a = data.random_sphere(KEY, 20, 5, n_test=7)
    b = data.random_sphere(KEY, 20, 5, n_test=7)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    c = data.random_sphere(jax.random.PRNGKey(1), 20, 5, n_test=7)
    assert not np.array_equal(a.x, c.x) and not np.array_equal(a.x_test, c.x_test)
    assert a.x_test.shape == (7, 5) and a.y_test.shape == (7,) and a.n_test == 7
    # the training set does not depend on the size of the test set
    np.testing.assert_array_equal(data.random_sphere(KEY, 20, 5).x, a.x)


def test_random_sphere_centred_with_balanced_alternating_labels():
    """The authors' random data (notes/jamming.md §6): centred Gaussian vectors projected on the sphere
    of radius √d, labels −1, +1, −1, … (every even prefix exactly balanced)."""
    ds = data.random_sphere(KEY, 41, 6, center=True, balanced=True)
    np.testing.assert_allclose(flat_norms(ds.x), math.sqrt(6), rtol=1e-12)
    np.testing.assert_array_equal(ds.y, np.where(np.arange(41) % 2, 1.0, -1.0))
    # the Gaussian vectors are centred before the projection: same directions as z − z̄
    z = jax.random.normal(jax.random.split(jax.random.split(KEY)[0])[0], (41, 6), ds.x.dtype)
    centred = z - z.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(ds.x, math.sqrt(6) * centred / flat_norms(centred)[:, None], rtol=1e-12)
    with pytest.raises(ValueError, match="n_train"):
        data.random_sphere(KEY, 1, 3, center=True)


def test_random_sphere_is_uniform_with_iid_labels():
    """E x = 0, E x xᵀ = I (isotropy on the sphere of radius √d), E y = 0.

    With P = 20000 points the standard errors are ≈ 0.01 for every entry; we allow 0.05.
    """
    d = 4
    ds = data.random_sphere(KEY, 20_000, d)
    x = np.asarray(ds.x)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(x.T @ x / len(x), np.eye(d), atol=0.05)
    assert abs(float(jnp.mean(ds.y))) < 0.05


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_train=0, dim=3), "n_train"),
        (dict(n_train=3, dim=0), "dim"),
        (dict(n_train=3, dim=2, n_test=-1), "n_test"),
        (dict(n_train=3, dim=2, dtype=jnp.int32), "dtype"),
    ],
)
def test_random_sphere_rejects_bad_sizes(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        data.random_sphere(KEY, **kwargs)


# --- normalize_on_sphere (thesis ch. 3) -------------------------------------------------------


@given(
    p=st.integers(2, 12),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    scale=st.floats(1e-3, 1e3),
    seed=seeds,
)
def test_normalize_on_sphere_centers_then_rescales(p, shape, scale, seed):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((p, *shape)) + rng.standard_normal((1, *shape))
    out = np.asarray(data.normalize_on_sphere(jnp.asarray(x)))
    d = math.prod(shape)
    assert out.shape == x.shape
    np.testing.assert_allclose(flat_norms(out), math.sqrt(d), rtol=1e-10)
    # out_μ = s_μ (x_μ − x̄) with s_μ = √d / ‖x_μ − x̄‖ > 0: undoing s_μ leaves zero mean
    centered = x - x.mean(axis=0, keepdims=True)
    s = (math.sqrt(d) / flat_norms(centered)).reshape(-1, *[1] * len(shape))
    np.testing.assert_allclose(out, s * centered, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((out / s).mean(axis=0), 0.0, atol=1e-9 * scale)
    # invariant under a positive rescaling and a shift of all patterns
    shifted = data.normalize_on_sphere(jnp.asarray(3.0 * x + 1.0))
    np.testing.assert_allclose(shifted, out, rtol=1e-8, atol=1e-8)


def test_normalize_on_sphere_under_jit_and_degenerate_input():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((6, 2, 3)))
    np.testing.assert_allclose(jax.jit(data.normalize_on_sphere)(x), data.normalize_on_sphere(x))
    with pytest.raises(ValueError, match="`x` has a pattern equal to the mean"):
        data.normalize_on_sphere(jnp.ones((1, 4)))


# --- PCA (000 §VII) ---------------------------------------------------------------------------


def test_pca_captures_the_largest_variances():
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((6, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    xn = rng.standard_normal((200, 6)) @ mixing.T + 2.0
    z = data.pca(jnp.asarray(xn), 3)
    assert z.shape == (200, 3) and z.dtype == jnp.float64
    evals, evecs = np.linalg.eigh(np.cov(xn.T))
    evals, evecs = evals[::-1], evecs[:, ::-1]
    np.testing.assert_allclose(np.cov(np.asarray(z).T), np.diag(evals[:3]), atol=1e-8)
    projection = (xn - xn.mean(axis=0)) @ evecs[:, :3]
    np.testing.assert_allclose(np.abs(np.asarray(z)), np.abs(projection), atol=1e-8)


def test_pca_flattens_images_and_checks_n_components():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((10, 2, 3, 3)), dtype=jnp.float32)
    z = data.pca(x, 4)
    assert z.shape == (10, 4) and z.dtype == jnp.float32
    for bad in (0, 11):
        with pytest.raises(ValueError, match="`n_components`"):
            data.pca(x, bad)


# --- parity labels (000 §VII) -----------------------------------------------------------------


def test_parity_labels_even_is_plus_one():
    y = data.parity_labels(jnp.arange(10))
    np.testing.assert_array_equal(y, [1, -1, 1, -1, 1, -1, 1, -1, 1, -1])
    assert y.dtype == jnp.float64
    assert data.parity_labels(jnp.array([3, 4]), jnp.float32).dtype == jnp.float32


# --- scikit-learn digits ----------------------------------------------------------------------


def test_digits_default_is_the_whole_set_on_the_sphere():
    ds = data.digits(KEY)
    assert ds.x.shape == (1797, 64) and ds.x_test is None and ds.binary
    np.testing.assert_allclose(flat_norms(ds.x), 8.0, rtol=1e-12)
    assert set(np.unique(np.asarray(ds.y))) == {-1.0, 1.0}
    # the same rows as the normalised scikit-learn images, in shuffled order
    images, _ = load_digits(return_X_y=True)
    expected = np.asarray(data.normalize_on_sphere(jnp.asarray(images)))
    got = np.asarray(ds.x)
    np.testing.assert_allclose(
        got[np.lexsort(got.T)], expected[np.lexsort(expected.T)], rtol=1e-12, atol=1e-12
    )


def test_digits_split_pca_and_class_labels():
    ds = data.digits(KEY, n_train=1000, n_test=797, pca_dim=10)
    assert ds.x.shape == (1000, 10) and ds.x_test.shape == (797, 10)
    np.testing.assert_allclose(flat_norms(ds.x), math.sqrt(10), rtol=1e-12)
    np.testing.assert_allclose(flat_norms(ds.x_test), math.sqrt(10), rtol=1e-12)
    classes = data.digits(KEY, n_train=1000, n_test=797, binary=False)
    assert classes.y.dtype == jnp.int32 and classes.n_classes == 10 and not classes.binary
    assert int(classes.y.min()) >= 0 and int(classes.y.max()) <= 9
    np.testing.assert_array_equal(data.parity_labels(classes.y), ds.y)
    np.testing.assert_array_equal(data.parity_labels(classes.y_test), ds.y_test)
    # train and test partition the whole set when they use all of it
    counts = np.bincount(np.concatenate([classes.y, classes.y_test]), minlength=10)
    np.testing.assert_array_equal(counts, np.bincount(load_digits().target, minlength=10))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_train=1700, n_test=200), "n_train"),
        (dict(n_train=0), "n_train"),
        (dict(n_test=-1), "n_test"),
        (dict(pca_dim=65), "pca_dim"),
    ],
)
def test_digits_rejects_bad_sizes(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        data.digits(KEY, **kwargs)


# --- Dataset ----------------------------------------------------------------------------------


def test_dataset_properties_immutability_and_jit():
    x, y = jnp.ones((3, 2, 2), dtype=jnp.float32), jnp.array([1.0, -1.0, 1.0])
    ds = data.Dataset(x, y)
    assert ds.x.dtype == jnp.float32  # kept as given
    assert ds.n_train == 3 and ds.input_shape == (2, 2) and ds.binary and ds.n_classes == 2
    with pytest.raises(AttributeError):
        ds.x = x
    total = eqx.filter_jit(lambda d: jnp.sum(d.y) * d.n_classes)(ds)
    assert float(total) == 2.0
    multi = data.Dataset(jnp.ones((2, 3)), jnp.array([0, 2]), jnp.ones((1, 3)), jnp.array([1]), 3)
    assert not multi.binary and multi.n_classes == 3 and multi.n_test == 1


X, Y = jnp.ones((3, 2)), jnp.array([1.0, -1.0, 1.0])


@pytest.mark.parametrize(
    "args, message",
    [
        ((jnp.array([[0.0, jnp.nan]]), jnp.array([1.0])), "`x` must be finite"),
        ((jnp.ones((3, 2)), jnp.array([1.0, -1.0])), "`x` and `y` must have the same number"),
        ((X, jnp.array([1.0, 0.0, -1.0])), r"`y` must hold binary labels in \{-1, \+1\}"),
        ((jnp.ones((0, 2)), jnp.ones((0,))), "`x` must contain at least one pattern"),
        ((X, Y, jnp.ones((2, 2))), "`x_test` and `y_test` must be given together"),
        ((X, Y, None, Y), "`x_test` and `y_test` must be given together"),
        ((X, Y, jnp.ones((2, 3)), Y[:2]), "`x_test` must have the per-pattern shape of `x`"),
        ((X, Y, jnp.full((2, 2), jnp.inf), Y[:2]), "`x_test` must be finite"),
        ((X, Y, jnp.ones((2, 2)), Y), "`x_test` and `y_test` must have the same number"),
        ((X, Y, jnp.ones((2, 2)), jnp.array([1.0, 2.0])), "`y_test` must hold binary"),
        ((X, Y, jnp.ones((1, 2), jnp.float32), Y[:1]), "`x_test` must have the dtype of `x`"),
        ((X, Y, None, None, 3), "`n_classes` must be 2"),
        ((X, jnp.array([0, 1, 2])), "`n_classes` is required"),
        ((X, jnp.array([0, 1, 2]), None, None, 2), r"`y` must hold class indices in \[0, 1\]"),
        ((X, jnp.array([0, 1, 2]), X, jnp.array([0, 1, 5]), 3), "`y_test` must hold class"),
        ((X, jnp.array([0, 1, 0]), X, Y, 2), "`y_test` must have the dtype of `y`"),
    ],
)
def test_dataset_rejects_bad_values_naming_the_argument(args, message):
    with pytest.raises(ValueError, match=message):
        data.Dataset(*args)


def test_dataset_rejects_wrong_ranks_through_the_typechecker():
    with pytest.raises(TypeError, match="parameter 'y'"):
        data.Dataset(X, jnp.ones((3, 1)))


# --- IDX files and MNIST ----------------------------------------------------------------------

IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def write_idx(path, array, gz=False):
    """Write `array` in the official IDX format (optionally gzip-compressed as ``path.gz``)."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if gz:
        path, payload = path.with_name(path.name + ".gz"), gzip.compress(payload)
    path.write_bytes(payload)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", list(IDX_CODES))
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    write_idx(tmp_path / "a-idx3", array, gz=gz)
    got = data.read_idx(tmp_path / "a-idx3")
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x07")
    with pytest.raises(ValueError, match="does not match"):
        data.read_idx(str(tmp_path / "short"))
    (tmp_path / "header").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    with pytest.raises(ValueError, match="truncated IDX header"):
        data.read_idx(tmp_path / "header")
    with pytest.raises(FileNotFoundError, match="nope"):
        data.read_idx(tmp_path / "nope")


MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def write_mnist(directory, n_train=12, n_test=5, seed=0):
    """Small MNIST-format files: train set plain, test set gzip-compressed."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": ((np.arange(n_test) + 3) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx(directory / name, array, gz=name.startswith("t10k"))
    return arrays


def test_mnist_reads_official_idx_files(tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    ds = data.mnist(root=tmp_path)
    assert ds.x.shape == (12, 784) and ds.x_test.shape == (5, 784) and ds.binary
    np.testing.assert_allclose(flat_norms(ds.x), 28.0, rtol=1e-12)
    np.testing.assert_array_equal(ds.y, np.where(arrays["train-labels-idx1-ubyte"] % 2, -1, 1))
    np.testing.assert_array_equal(ds.y_test, np.where(arrays["t10k-labels-idx1-ubyte"] % 2, -1, 1))
    images = [arrays["train-images-idx3-ubyte"], arrays["t10k-images-idx3-ubyte"]]
    flat = np.concatenate(images).reshape(17, 784)
    expected = data.normalize_on_sphere(jnp.asarray(flat, dtype=jnp.float64))
    np.testing.assert_allclose(ds.x, expected[:12], rtol=1e-12)
    np.testing.assert_allclose(ds.x_test, expected[12:], rtol=1e-12)

    classes = data.mnist(root=tmp_path, binary=False, n_test=0)
    assert classes.y.dtype == jnp.int32 and classes.n_classes == 10 and classes.x_test is None
    np.testing.assert_array_equal(classes.y, arrays["train-labels-idx1-ubyte"])

    reduced = data.mnist(root=tmp_path, pca_dim=3, dtype=jnp.float32)
    assert reduced.x.shape == (12, 3) and reduced.x_test.shape == (5, 3)
    assert reduced.x.dtype == jnp.float32
    np.testing.assert_allclose(flat_norms(reduced.x), math.sqrt(3), rtol=1e-5)


def test_mnist_subsamples_with_a_key(tmp_path):
    write_mnist(tmp_path / "mnist")
    full = data.mnist(root=tmp_path, binary=False)
    sub = data.mnist(root=tmp_path, n_train=4, n_test=2, key=KEY, binary=False)
    assert sub.x.shape == (4, 784) and sub.x_test.shape == (2, 784)
    pairs = [(sub.x, sub.y, full.x, full.y), (sub.x_test, sub.y_test, full.x_test, full.y_test)]
    for x, y, pool_x, pool_y in pairs:
        pool_x, pool_y = np.asarray(pool_x), np.asarray(pool_y)
        rows = [int(np.flatnonzero(np.all(pool_x == row, axis=1))[0]) for row in np.asarray(x)]
        assert len(set(rows)) == len(rows)  # distinct patterns of the official split
        np.testing.assert_array_equal(pool_y[rows], y)
    again = data.mnist(root=tmp_path, n_train=4, n_test=2, key=KEY, binary=False)
    np.testing.assert_array_equal(again.x, sub.x)
    with pytest.raises(ValueError, match="pass a `key`"):
        data.mnist(root=tmp_path, n_train=4)
    with pytest.raises(ValueError, match="`n_train` must lie in"):
        data.mnist(root=tmp_path, n_train=13, key=KEY)


def test_mnist_from_environment_and_fashion_files_directly_in_root(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist")
    monkeypatch.setenv("JAMSCOPE_DATA", str(tmp_path))
    assert data.mnist().x.shape == (12, 784)
    write_mnist(tmp_path / "fashion", n_train=7, n_test=3)
    fashion = data.mnist(root=tmp_path / "fashion", kind="fashion")
    assert fashion.x.shape == (7, 784) and fashion.x_test.shape == (3, 784)


def test_missing_files_give_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("JAMSCOPE_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="JAMSCOPE_DATA") as info:
        data.mnist()
    assert "train-images-idx3-ubyte" in str(info.value)

    with pytest.raises(FileNotFoundError) as info:
        data.mnist(root=tmp_path, kind="fashion")
    message = str(info.value)
    for expected in (*MNIST_FILES, str(tmp_path / "fashion-mnist"), "JAMSCOPE_DATA", "download"):
        assert expected in message

    write_mnist(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte in"):
        data.mnist(root=tmp_path)

    with pytest.raises(FileNotFoundError, match="data_batch_1") as info:
        data.cifar10(root=tmp_path)
    assert "JAMSCOPE_DATA" in str(info.value) and "cifar-10-batches-py" in str(info.value)


# --- CIFAR-10 ---------------------------------------------------------------------------------


def write_cifar(directory, per_batch=2, n_test=3, seed=0):
    """Small CIFAR-10 python batches in the official format (pickled dicts with bytes keys)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows, labels = [], []
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        batch = {
            b"batch_label": name.encode(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(c) for c in rng.integers(0, 10, n)],
            b"filenames": [f"{name}_{i}.png".encode() for i in range(n)],
        }
        with (directory / name).open("wb") as f:
            pickle.dump(batch, f)
        rows.append(batch[b"data"])
        labels += batch[b"labels"]
    return np.concatenate(rows), np.array(labels)


def images_from_rows(rows):
    """Official layout: 1024 red, then 1024 green, then 1024 blue values, each row-major 32×32."""
    channels = [[r[c * 1024 : (c + 1) * 1024].reshape(32, 32) for c in range(3)] for r in rows]
    return np.array(channels)


def test_cifar10_reads_official_batches(tmp_path):
    rows, labels = write_cifar(tmp_path / "cifar-10-batches-py")
    ds = data.cifar10(root=tmp_path)
    assert ds.x.shape == (10, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32) and ds.binary
    np.testing.assert_allclose(flat_norms(ds.x), math.sqrt(3072), rtol=1e-12)
    np.testing.assert_array_equal(ds.y, np.where(labels[:10] % 2, -1.0, 1.0))
    np.testing.assert_array_equal(ds.y_test, np.where(labels[10:] % 2, -1.0, 1.0))
    images = images_from_rows(rows).astype(np.float64)
    expected = data.normalize_on_sphere(jnp.asarray(images))
    np.testing.assert_allclose(ds.x, expected[:10], rtol=1e-12)
    np.testing.assert_allclose(ds.x_test, expected[10:], rtol=1e-12)

    gray = data.cifar10(root=tmp_path, grayscale=True, binary=False)
    assert gray.x.shape == (10, 1, 32, 32) and gray.y.dtype == jnp.int32
    np.testing.assert_array_equal(gray.y_test, labels[10:])
    expected = data.normalize_on_sphere(jnp.asarray(images.mean(axis=1, keepdims=True)))
    np.testing.assert_allclose(gray.x, expected[:10], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(flat_norms(gray.x), 32.0, rtol=1e-12)


def test_cifar10_files_directly_in_root_and_subsampling(tmp_path):
    write_cifar(tmp_path)
    ds = data.cifar10(root=tmp_path, n_train=4, n_test=0, key=KEY)
    assert ds.x.shape == (4, 3, 32, 32) and ds.x_test is None


@settings(max_examples=5)
@given(st.integers(0, 2**16), st.sampled_from([(-0.3, 1.18549), (0.0,), (-1.0, 0.0, 1.0)]))
def test_stripe_labels_depend_on_the_first_coordinate_only(seed, boundaries):
    ds = data.stripe(jax.random.PRNGKey(seed), 400, 4, n_test=50, boundaries=boundaries)
    x1 = np.asarray(ds.x[:, 0])
    expected = np.where(np.sum(x1[:, None] > np.asarray(boundaries)[None], axis=1) % 2 == 1, 1.0, -1.0)
    np.testing.assert_array_equal(np.asarray(ds.y), expected)
    assert ds.x_test.shape == (50, 4) and ds.binary


def test_stripe_default_is_balanced_and_gaussian():
    ds = data.stripe(jax.random.PRNGKey(0), 20_000, 3)
    assert abs(float(np.mean(np.asarray(ds.y) == 1.0)) - 0.5) < 0.015  # 4σ of a fair coin at n = 20000
    np.testing.assert_allclose(np.cov(np.asarray(ds.x).T), np.eye(3), atol=0.05)
    with pytest.raises(ValueError, match="`boundaries`"):
        data.stripe(jax.random.PRNGKey(0), 10, 3, boundaries=(1.0, 0.0))


# --- images for the diffeomorphism experiments ------------------------------------------------


def channel_moments(x):
    a = np.asarray(x)
    return a.mean(axis=(0, 2, 3)), a.std(axis=(0, 2, 3))


def test_standardize_channels_gives_zero_mean_unit_variance_per_channel():
    x = jax.random.normal(KEY, (7, 3, 5, 5)) * jnp.asarray([1.0, 5.0, 0.1])[None, :, None, None] + 2.0
    mean, std = channel_moments(data.standardize_channels(x))
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(std, 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="constant channel"):
        data.standardize_channels(jnp.ones((3, 1, 4, 4)))


def test_digit_images_are_the_digits_as_standardized_images():
    ds = data.digit_images(KEY, n_train=100, n_test=50)
    assert ds.x.shape == (100, 1, 8, 8) and ds.x_test.shape == (50, 1, 8, 8) and ds.n_classes == 10
    everything = data.digit_images(KEY)
    mean, std = channel_moments(everything.x)
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(std, 1.0, rtol=1e-12)
    # the same shuffle as the flat digits: same class labels
    np.testing.assert_array_equal(ds.y, data.digits(KEY, n_train=100, n_test=50, binary=False).y)
    images, _ = load_digits(return_X_y=True)
    standardized = (images - images.mean()) / images.std()
    np.testing.assert_allclose(
        np.sort(np.asarray(everything.x).ravel()), np.sort(standardized.ravel()), atol=1e-12
    )
    big = data.digit_images(KEY, n_train=10, size=16, binary=True)
    assert big.x.shape == (10, 1, 16, 16) and big.binary
    with pytest.raises(ValueError, match="`size`"):
        data.digit_images(KEY, size=2)


def test_mnist_as_standardized_images(tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    ds = data.mnist(root=tmp_path, binary=False, normalization="channels")
    assert ds.x.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    pixels = np.concatenate([arrays["train-images-idx3-ubyte"], arrays["t10k-images-idx3-ubyte"]]).astype(
        float
    )
    np.testing.assert_allclose(ds.x[:, 0], ((pixels - pixels.mean()) / pixels.std())[:12], rtol=1e-12)
    with pytest.raises(ValueError, match="`pca_dim`"):
        data.mnist(root=tmp_path, pca_dim=3, normalization="channels")


def test_cifar10_standardized_per_channel(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    ds = data.cifar10(root=tmp_path, binary=False, normalization="channels")
    x = np.concatenate([np.asarray(ds.x), np.asarray(ds.x_test)])
    assert x.shape[1:] == (3, 32, 32)
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1.0, rtol=1e-12)
