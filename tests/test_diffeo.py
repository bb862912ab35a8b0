"""Maximum-entropy diffeomorphisms: field statistics, interpolations, temperatures, bijectivity."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import map_coordinates

from jamscope import diffeo

KEY = jax.random.PRNGKey(0)
INTERPOLATIONS = ("bilinear", "gaussian", "nearest")


def images(seed, shape):
    return jax.random.normal(jax.random.PRNGKey(seed), shape)


# --- the field -----------------------------------------------------------------------------------


def test_modes_follow_the_thesis_cutoff():
    assert sorted(map(tuple, np.asarray(diffeo.MaxEntDiffeo(1.0, 3).modes).tolist())) == [
        (1, 1), (1, 2), (2, 1), (2, 2),
    ]  # fmt: skip
    assert diffeo.MaxEntDiffeo(1.0, math.sqrt(2)).modes.shape == (1, 2)
    m = np.asarray(diffeo.MaxEntDiffeo(1.0, 10).modes)
    assert np.all((m**2).sum(1) <= 100) and len(m) == 69


@settings(max_examples=10)
@given(
    n=st.sampled_from([3, 8, 17]),
    cutoff=st.floats(1.5, 8.0),
    temperature=st.floats(1e-5, 1.0),
    seed=st.integers(0, 2**16),
)
def test_field_is_zero_on_the_frame_and_scales_as_sqrt_t(n, cutoff, temperature, seed):
    key = jax.random.PRNGKey(seed)
    field = diffeo.MaxEntDiffeo(temperature, cutoff).sample(key, n)
    assert field.shape == (2, n, n)
    scale = float(jnp.max(jnp.abs(field))) + 1e-300
    for edge in (field[:, 0, :], field[:, -1, :], field[:, :, 0], field[:, :, -1]):
        assert float(jnp.max(jnp.abs(edge))) <= 1e-12 * max(scale, 1.0)
    quadrupled = diffeo.MaxEntDiffeo(4 * temperature, cutoff).sample(key, n)
    np.testing.assert_allclose(quadrupled, 2 * field, rtol=1e-10, atol=1e-14)


def test_field_is_the_sine_series_in_pixels():
    d = diffeo.MaxEntDiffeo(1e-2, 4)
    coefficients = d.coefficients(KEY)
    n = 11
    field = d.field(coefficients, n)
    s = np.linspace(0, 1, n)
    expected = np.zeros((2, n, n))
    for m, (i, j) in enumerate(np.asarray(d.modes)):
        mode = np.outer(np.sin(j * np.pi * s), np.sin(i * np.pi * s))  # rows v, columns u
        expected += np.asarray(coefficients)[:, m, None, None] * mode
    np.testing.assert_allclose(field, n * expected, atol=1e-13)


def test_coefficient_variances_are_t_over_i2_plus_j2():
    """4000 draws: each sample variance has a relative standard error √(2/4000) = 2.2 %; the tolerance
    is 5 standard errors, and the pooled χ² over all 2M coefficients is within 5σ of its mean."""
    d = diffeo.MaxEntDiffeo(0.3, 5)
    draws = jax.vmap(d.coefficients)(jax.random.split(KEY, 4000))
    expected = 0.3 / (np.asarray(d.modes) ** 2).sum(1)
    np.testing.assert_allclose(np.asarray(d.variances()), expected, rtol=1e-12)
    variances = np.asarray(jnp.mean(draws**2, axis=0))  # (2, M), known mean 0
    np.testing.assert_allclose(variances / expected, 1.0, atol=5 * math.sqrt(2 / 4000))
    chi2 = float(np.sum(np.asarray(draws) ** 2 / expected))
    dof = draws.size
    assert abs(chi2 - dof) < 5 * math.sqrt(2 * dof)
    assert abs(float(np.mean(np.asarray(draws)))) < 5 * math.sqrt(np.mean(expected) / draws.size)


def test_sample_count_gives_independent_fields():
    fields = diffeo.MaxEntDiffeo(1e-3, 3).sample(KEY, 16, count=5)
    assert fields.shape == (5, 2, 16, 16)
    assert not np.allclose(fields[0], fields[1])
    np.testing.assert_array_equal(fields, diffeo.MaxEntDiffeo(1e-3, 3).sample(KEY, 16, count=5))


def test_temperatures_can_be_vmapped():
    temperatures = jnp.asarray([1e-4, 4e-4])
    fields = jax.vmap(lambda t: diffeo.MaxEntDiffeo(t, 3).sample(KEY, 8))(temperatures)
    np.testing.assert_allclose(fields[1], 2 * fields[0], rtol=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [((-1.0, 3), "`temperature`"), ((float("nan"), 3), "`temperature`"), ((1.0, 1.0), "`cutoff`"),
     ((1.0, float("inf")), "`cutoff`")],
)  # fmt: skip
def test_bad_parameters_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        diffeo.MaxEntDiffeo(*args)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="`n`"):
        diffeo.MaxEntDiffeo(1.0, 3).sample(KEY, 2)
    with pytest.raises(ValueError, match="`count`"):
        diffeo.MaxEntDiffeo(1.0, 3).sample(KEY, 8, count=0)


# --- deformation -------------------------------------------------------------------------------


@settings(max_examples=10)
@given(
    shape=st.tuples(st.integers(1, 2), st.sampled_from([2, 5, 8]), st.sampled_from([2, 7, 8])),
    batch=st.sampled_from([0, 3]),
    seed=st.integers(0, 2**16),
)
def test_zero_field_is_the_identity_for_bilinear_and_nearest(shape, batch, seed):
    x = images(seed, ((batch,) if batch else ()) + shape)
    zero = jnp.zeros((2,) + shape[1:])
    for interpolation in ("bilinear", "nearest"):
        np.testing.assert_array_equal(diffeo.deform(x, zero, interpolation), x)
        np.testing.assert_array_equal(diffeo.smoothed(x, interpolation), x)


def test_temperature_zero_is_the_identity_and_gaussian_gives_the_smoothed_image():
    x = images(1, (4, 3, 16, 16))
    fields = diffeo.MaxEntDiffeo(0.0, 5).sample(KEY, 16, count=4)
    np.testing.assert_array_equal(diffeo.deform(x, fields), x)
    np.testing.assert_array_equal(diffeo.deform(x, fields, "gaussian"), diffeo.smoothed(x, "gaussian"))
    assert not np.allclose(diffeo.smoothed(x, "gaussian"), x)


@settings(max_examples=15)
@given(shift_u=st.integers(-3, 3), shift_v=st.integers(-3, 3), seed=st.integers(0, 2**16))
def test_integer_constant_field_is_a_shift_on_the_interior(shift_u, shift_v, seed):
    n = 20
    x = images(seed, (2, n, n))
    field = jnp.stack([jnp.full((n, n), float(shift_u)), jnp.full((n, n), float(shift_v))])
    rows = slice(max(shift_v, 0), n + min(shift_v, 0))
    cols = slice(max(shift_u, 0), n + min(shift_u, 0))
    src_rows = slice(rows.start - shift_v, rows.stop - shift_v)
    src_cols = slice(cols.start - shift_u, cols.stop - shift_u)
    for interpolation in ("bilinear", "nearest"):
        out = diffeo.deform(x, field, interpolation)
        np.testing.assert_allclose(out[:, rows, cols], x[:, src_rows, src_cols], atol=1e-12)
    # Gaussian: the shifted smoothed image, away from the border (window of 4 px)
    out = diffeo.deform(x, field, "gaussian")
    ref = diffeo.smoothed(x, "gaussian")
    inner_r = slice(rows.start + 4, rows.stop - 4)
    inner_c = slice(cols.start + 4, cols.stop - 4)
    src_r = slice(inner_r.start - shift_v, inner_r.stop - shift_v)
    src_c = slice(inner_c.start - shift_u, inner_c.stop - shift_u)
    np.testing.assert_allclose(out[:, inner_r, inner_c], ref[:, src_r, src_c], atol=1e-12)


def source_points(field):
    h, w = field.shape[1:]
    rows = np.clip(np.arange(h)[:, None] - np.asarray(field[1]), 0, h - 1)
    cols = np.clip(np.arange(w)[None, :] - np.asarray(field[0]), 0, w - 1)
    return rows, cols


def test_bilinear_matches_scipy_map_coordinates():
    x = images(2, (3, 12, 12))
    field = diffeo.MaxEntDiffeo(3e-2, 4).sample(KEY, 12)
    rows, cols = source_points(field)
    expected = np.stack([map_coordinates(np.asarray(c), [rows, cols], order=1) for c in x])
    np.testing.assert_allclose(diffeo.deform(x, field), expected, atol=1e-12)


def test_gaussian_matches_the_sum_over_all_pixels_of_eq_16():
    x = images(3, (2, 10, 10))
    field = diffeo.MaxEntDiffeo(5e-2, 4).sample(KEY, 10)
    rows, cols = source_points(field)
    grid_r, grid_c = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
    d2 = (rows[..., None, None] - grid_r) ** 2 + (cols[..., None, None] - grid_c) ** 2
    g = np.exp(-d2 / (2 * diffeo.GAUSSIAN_SIGMA**2))
    expected = np.einsum("hwab,cab->chw", g, np.asarray(x)) / g.sum((-2, -1))
    np.testing.assert_allclose(diffeo.deform(x, field, "gaussian"), expected, atol=1e-12)


def test_deform_broadcasts_fields_and_images():
    x = images(4, (5, 1, 8, 8))
    fields = diffeo.MaxEntDiffeo(1e-2, 3).sample(KEY, 8, count=5)
    pairwise = diffeo.deform(x, fields)
    assert pairwise.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(pairwise[2], diffeo.deform(x[2], fields[2]))
    assert diffeo.deform(x, fields[0]).shape == (5, 1, 8, 8)
    many = diffeo.deform(x[0], fields)
    np.testing.assert_allclose(many[3], diffeo.deform(x[0], fields[3]))


@settings(max_examples=10)
@given(a=st.floats(0.1, 5.0), b=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_deformation_commutes_with_affine_maps_of_the_pixel_values(a, b, seed):
    x = images(seed, (2, 9, 9))
    field = diffeo.MaxEntDiffeo(2e-2, 3).sample(jax.random.PRNGKey(seed), 9)
    for interpolation in INTERPOLATIONS:
        np.testing.assert_allclose(
            diffeo.deform(a * x + b, field, interpolation),
            a * diffeo.deform(x, field, interpolation) + b,
            atol=1e-10,
        )


def test_deform_rejects_bad_inputs():
    field = jnp.zeros((2, 8, 8))
    with pytest.raises(ValueError, match="`images` must be finite"):
        diffeo.deform(jnp.full((1, 8, 8), jnp.nan), field)
    with pytest.raises(Exception, match="field"):
        diffeo.deform(jnp.zeros((1, 8, 8)), jnp.zeros((3, 8, 8)))
    with pytest.raises(Exception, match="field"):
        diffeo.deform(jnp.zeros((1, 8, 8)), jnp.zeros((2, 8, 9)))


# --- temperatures and displacement ---------------------------------------------------------------


def test_temperature_range_formulas_and_cifar_values():
    t_min, t_max = diffeo.temperature_range(32, 3)
    assert t_min == pytest.approx(1 / (math.pi * 32**2 * math.log(3)))
    assert t_max == pytest.approx(4 / (math.pi**3 * 9 * math.log(3)))
    assert t_min == pytest.approx(2.8e-4, rel=0.02) and t_max == pytest.approx(1.3e-2, rel=0.02)
    t_max = diffeo.temperature_range(32, 15)[1]  # notes/diffeo.md: δ = 1 lies above T_max at c = 15
    assert diffeo.temperature_for(1.0, 15, 32) > t_max
    t_min, t_max = diffeo.temperature_range(32, 25)  # and the band is empty for c > 2n/π
    assert t_min > t_max
    with pytest.raises(ValueError, match="`cutoff`"):
        diffeo.temperature_range(32, 1.0)


@given(delta=st.floats(0.01, 10.0), cutoff=st.floats(1.5, 40.0), n=st.integers(3, 512))
def test_temperature_for_inverts_eq_3(delta, cutoff, n):
    t = diffeo.temperature_for(delta, cutoff, n)
    assert diffeo.typical_displacement(t, cutoff, n) == pytest.approx(delta, rel=1e-12)
    t_min = diffeo.temperature_range(n, cutoff)[0]
    assert diffeo.typical_displacement(t_min, cutoff, n) == pytest.approx(0.5)


@pytest.mark.parametrize("cutoff", [3, 5, 10])
def test_measured_displacement_is_the_exact_sum_of_app_b(cutoff):
    """1000 fields at n = 32, δ = 1 by eq. 3: the mean of δ² measured on the grid equals the exact
    App. B sum within 5 standard errors; eq. 3's asymptote is larger at small c."""
    n = 32
    t = diffeo.temperature_for(1.0, cutoff, n)
    rms = diffeo.rms_displacement(diffeo.MaxEntDiffeo(t, cutoff).sample(KEY, n, count=1000))
    mean_sq, sem = float(jnp.mean(rms**2)), float(jnp.std(rms**2)) / math.sqrt(1000)
    exact = diffeo.typical_displacement(t, cutoff, n, exact=True) ** 2
    assert abs(mean_sq - exact) < 5 * sem
    assert exact < 1.0


def test_max_xi_matches_finite_differences_of_a_fine_field():
    n = 257
    field = diffeo.MaxEntDiffeo(1e-3, 5).sample(KEY, n)
    tau, h = np.asarray(field) / n, 1 / (n - 1)
    du_u, dv_u = np.gradient(tau[0], h, axis=1), np.gradient(tau[0], h, axis=0)
    du_v, dv_v = np.gradient(tau[1], h, axis=1), np.gradient(tau[1], h, axis=0)
    xi = 0.5 * (np.sqrt((du_u - dv_v) ** 2 + (du_v + dv_u) ** 2) + du_u + dv_v)
    assert float(diffeo.max_xi(field)) == pytest.approx(xi.max(), rel=1e-3)
    assert float(diffeo.max_xi(jnp.zeros((2, 9, 9)))) == 0.0


@settings(max_examples=10)
@given(temperature=st.floats(1e-3, 3e-2), seed=st.integers(0, 2**16))
def test_xi_below_one_means_a_positive_jacobian(temperature, seed):
    """max Ξ < 1 is sufficient for s ↦ s − τ(s) to keep det(I − ∇τ) > 0 (eqs. 9–12); above, folds
    appear for some samples."""
    n = 65
    fields = diffeo.MaxEntDiffeo(temperature, 4).sample(jax.random.PRNGKey(seed), n, count=8)
    xi = np.asarray(diffeo.max_xi(fields))
    tau, h = np.asarray(fields) / n, 1 / (n - 1)
    du_u, dv_u = np.gradient(tau[:, 0], h, axis=2), np.gradient(tau[:, 0], h, axis=1)
    du_v, dv_v = np.gradient(tau[:, 1], h, axis=2), np.gradient(tau[:, 1], h, axis=1)
    det = ((1 - du_u) * (1 - dv_v) - du_v * dv_u).min(axis=(1, 2))
    assert np.all(det[xi < 0.99] > 0)


def test_median_max_xi_follows_eq_13_up_to_a_prefactor_and_admissibility():
    """Fig. 8b: median max_s Ξ ≈ (c/2)√(π³ T ln c) (eq. 13). Measured (n = 32, 400 fields) the
    prefactor is 0.72 (c = 3), 0.80 (c = 5), 0.82 (c = 10): eq. 13 overestimates by 20–30 %, so at
    T_max (eq. 14) 85–92 % of the fields are bijective rather than half. Tolerances: ratio in
    [0.6, 0.95]; at T_max at least half admissible, at 3 T_max less than half."""
    n = 32
    for cutoff in (3, 5, 10):
        t_max = diffeo.temperature_range(n, cutoff)[1]
        xi = diffeo.max_xi(diffeo.MaxEntDiffeo(t_max, cutoff).sample(KEY, n, count=400))
        ratio = float(jnp.median(xi)) / (cutoff / 2 * math.sqrt(math.pi**3 * t_max * math.log(cutoff)))
        assert 0.6 < ratio < 0.95
        assert float(jnp.mean(xi < 1)) > 0.5
        hot = diffeo.max_xi(diffeo.MaxEntDiffeo(3 * t_max, cutoff).sample(KEY, n, count=400))
        assert float(jnp.mean(hot < 1)) < 0.5


# -------------------------------------------------------------------------------------------------
# Coming from the public code (pcsl-epfl/diffeomorphism)


@pytest.mark.parametrize("cut", range(1, 21))
def test_cutoff_from_reference_keeps_the_public_codes_modes(cut):
    """The public code keeps i, j ∈ {1, …, cut} with √(i² + j²) < cut + ½ (enumerated here by that
    rule); `MaxEntDiffeo` with `cutoff_from_reference(cut)` = √(cut² + cut) keeps the same set."""
    reference = {(i, j) for i in range(1, cut + 1) for j in range(1, cut + 1) if math.hypot(i, j) < cut + 0.5}
    cutoff = diffeo.cutoff_from_reference(cut)
    assert cutoff == pytest.approx(math.sqrt(cut * cut + cut), rel=1e-15)
    if cutoff >= math.sqrt(2):
        assert {tuple(m) for m in np.asarray(diffeo.MaxEntDiffeo(1.0, cutoff).modes)} == reference
    # at equal nominal c, jamscope keeps fewer modes (c = 3: 4 against the public code's 6)
    if cut >= 2:
        assert len(diffeo.MaxEntDiffeo(1.0, cut).modes) < len(reference)
    with pytest.raises(ValueError, match="`cut`"):
        diffeo.cutoff_from_reference(0.5)


def test_random_deform_is_deform_with_fields_drawn_from_the_same_key():
    x = images(0, (5, 2, 12, 12))
    fields = diffeo.MaxEntDiffeo(2e-3, 3).sample(KEY, 12, count=5)
    np.testing.assert_array_equal(diffeo.random_deform(KEY, x, 2e-3, 3), diffeo.deform(x, fields))
    one = diffeo.random_deform(KEY, x[0], 2e-3, 3, "nearest")
    assert one.shape == x[0].shape
    np.testing.assert_array_equal(diffeo.random_deform(KEY, x, 0.0, 3), x)


def _sine_coefficients(fields, cutoff, n):
    """Least-squares sine coefficients (count, 2, M) of fields on the modes i² + j² ≤ c², by an
    independent NumPy basis n sin(jπ s_row) sin(iπ s_col)."""
    s = np.linspace(0.0, 1.0, n)
    modes = [(i, j) for i in range(1, n) for j in range(1, n) if i * i + j * j <= cutoff * cutoff]
    sine = lambda k: np.sin(np.pi * k * s)  # noqa: E731
    basis = np.stack([n * np.outer(sine(j), sine(i)).ravel() for i, j in modes], 1)
    flat = np.asarray(fields).reshape(fields.shape[0] * 2, n * n).T
    coefficients = np.linalg.lstsq(basis, flat, rcond=None)[0].T.reshape(fields.shape[0], 2, len(modes))
    return coefficients, np.array([i * i + j * j for i, j in modes], float)


def test_random_diffeo_draws_a_cutoff_and_a_temperature_in_its_band_per_field():
    """Cutoffs (2, 5) drawn with probability ½ each: a field has no mode beyond 2² + 1 or some;
    with u ~ Beta(30, 10) (concentration 40, bias 3) the equipartition estimate
    T̂ = ⟨(i² + j²) C²⟩ over the kept modes averages to T_min + 0.75 (T_max − T_min)."""
    n, count = 16, 600
    augment = diffeo.RandomDiffeo((2, 5), concentration=40.0, bias=3.0)
    fields = augment.sample(KEY, n, count=count)
    coefficients, squares = _sine_coefficients(fields, 5, n)
    beyond = np.abs(coefficients[:, :, squares > 4]).max(axis=(1, 2))
    small = beyond < 1e-9
    assert abs(small.mean() - 0.5) < 5 * math.sqrt(0.25 / count)
    assert np.all(beyond[~small] > 1e-6)
    for cutoff, members in ((2, small), (5, ~small)):
        kept = squares <= cutoff * cutoff
        estimate = (coefficients[members][:, :, kept] ** 2 * squares[kept]).mean(axis=(1, 2))
        low, high = diffeo.temperature_range(n, cutoff)
        spread = np.sqrt(1 / kept.sum() + 0.068**2) * high  # χ² of 2M modes and the Beta's width
        assert abs(estimate.mean() - (low + 0.75 * (high - low))) < 5 * spread / math.sqrt(members.sum())
    x = images(1, (4, 3, n, n))
    out = augment(KEY, x)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, diffeo.deform(x, augment.sample(KEY, n, count=4)))
    np.testing.assert_allclose(jax.jit(augment)(KEY, x), out, rtol=1e-12, atol=1e-12)


def test_random_diffeo_refuses_bad_cutoffs_and_empty_bands():
    with pytest.raises(ValueError, match="`cutoffs`"):
        diffeo.RandomDiffeo((1.0, 3))
    with pytest.raises(ValueError, match="`cutoffs`"):
        diffeo.RandomDiffeo(())
    with pytest.raises(ValueError, match="empty"):
        diffeo.RandomDiffeo((3, 40)).sample(KEY, 8)
