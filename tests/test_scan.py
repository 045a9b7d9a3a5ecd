"""resettable_scan / resettable_step against a float64 numpy loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.scan import BACKENDS, default_backend, resettable_step
from ssm_rl.scan import resettable_scan as eager_scan

resettable_scan = jax.jit(eager_scan, static_argnames="backend")


def numpy_scan(a, b, reset, h0):
    """h_t = a_t * (0 if reset_t else h_{t-1}) + b_t in float64/complex128."""
    a, b, h = np.asarray(a), np.asarray(b), np.asarray(h0)
    dtype = np.complex128 if np.iscomplexobj(b) or np.iscomplexobj(a) else np.float64
    a_t = np.broadcast_to(a, b.shape) if a.ndim == b.ndim else np.broadcast_to(a, b.shape[1:])
    out = np.zeros(b.shape, dtype)
    h = h.astype(dtype)
    for t in range(b.shape[0]):
        h = np.where(np.asarray(reset[t])[..., None], 0.0, h)
        h = (a_t[t] if a.ndim == b.ndim else a_t) * h + b[t]
        out[t] = h
    return out


def random_problem(seed, T, batch, P, complex_, time_varying, p_reset=0.05):
    rng = np.random.default_rng(seed)
    a_shape = (T, *batch, P) if time_varying else (P,)
    modulus = rng.uniform(0.5, 0.999, a_shape)
    b = rng.normal(size=(T, *batch, P))
    h0 = rng.normal(size=(*batch, P))
    if complex_:
        a = modulus * np.exp(1j * rng.uniform(-np.pi, np.pi, a_shape))
        b = b + 1j * rng.normal(size=b.shape)
        h0 = h0 + 1j * rng.normal(size=h0.shape)
        dtype = np.complex64
    else:
        a = modulus * rng.choice([-1.0, 1.0], a_shape)
        dtype = np.float32
    reset = rng.random((T, *batch)) < p_reset
    return a.astype(dtype), b.astype(dtype), reset, h0.astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("time_varying", [False, True])
@pytest.mark.parametrize("T,batch", [(1, (3,)), (37, (2, 3)), (1024, (2,))])
def test_scan_matches_numpy(backend, complex_, time_varying, T, batch):
    a, b, reset, h0 = random_problem(T, T, batch, 4, complex_, time_varying)
    expected = numpy_scan(a, b, reset, h0)
    h_all, h_last = resettable_scan(a, b, reset, h0, backend=backend)
    assert h_all.dtype == b.dtype and h_all.shape == b.shape
    scale = np.abs(expected).max()
    np.testing.assert_allclose(h_all, expected, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_array_equal(h_last, h_all[-1])


@pytest.mark.parametrize("complex_", [False, True])
def test_backends_agree_and_default_h0_is_zero(complex_):
    a, b, reset, _ = random_problem(1, 200, (3,), 5, complex_, False)
    runs = [resettable_scan(a, b, reset, backend=name)[0] for name in BACKENDS]
    expected = numpy_scan(a, b, reset, np.zeros(b.shape[1:]))
    for h_all in runs:
        np.testing.assert_allclose(h_all, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_step_matches_numpy():
    a, b, reset, h0 = random_problem(2, 1, (4,), 3, True, False, p_reset=0.5)
    reset = np.array([[True, False, True, False]])
    h = resettable_step(a, b[0], reset[0], h0)
    np.testing.assert_allclose(h, numpy_scan(a, b, reset, h0)[0], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("complex_", [False, True])
def test_gradient_across_reset_is_exactly_zero(backend, complex_):
    T, r = 16, 9
    a, b, _, h0 = random_problem(3, T, (2,), 3, complex_, True)
    reset = np.zeros((T, 2), bool)
    reset[r, 0] = True  # element 0 starts a new episode at step r; element 1 never resets

    def later_states(a, b, h0, element):
        h_all, _ = resettable_scan(a, b, reset, h0, backend=backend)
        return jnp.sum(jnp.abs(h_all[r:, element]) ** 2)

    grads = jax.grad(later_states, argnums=(0, 1, 2))(a, b, h0, 0)
    assert np.all(np.asarray(grads[0][: r + 1, 0]) == 0)  # a_r multiplies the cleared state
    assert np.all(np.asarray(grads[1][:r, 0]) == 0)
    assert np.all(np.asarray(grads[2][0]) == 0)
    free = jax.grad(later_states, argnums=(0, 1, 2))(a, b, h0, 1)
    assert np.all(np.asarray(free[1][:r, 1]) != 0) and np.all(np.asarray(free[2][1]) != 0)


def test_bad_inputs_raise():
    b = jnp.zeros((5, 2, 3))
    reset = jnp.zeros((5, 2), bool)
    with pytest.raises(ValueError, match="reset"):
        eager_scan(jnp.ones(3), b, reset[:, :1])
    with pytest.raises(ValueError, match="h0"):
        eager_scan(jnp.ones(3), b, reset, jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="broadcast"):
        eager_scan(jnp.ones(4), b, reset)
    with pytest.raises(ValueError, match="b must be"):
        eager_scan(jnp.ones(3), jnp.zeros(3), jnp.zeros((), bool))
    with pytest.raises(ValueError, match="backend"):
        eager_scan(jnp.ones(3), b, reset, backend="fft")


def test_default_backend_per_platform():
    assert default_backend("cpu") == "sequential"
    assert default_backend("gpu") == "associative" and default_backend("tpu") == "associative"
