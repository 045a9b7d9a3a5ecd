"""The S5 layer against its defining formulas and a plain numpy loop over the full SSM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.init.hippo import block_diagonal_legs
from ssm_rl.layers.s5 import S5, register_s5_eigen_init

H, P, T, BATCH = 3, 8, 12, 2


def init_layer(**options):
    layer = S5(d_model=H, state_size=P, **options)
    x = jnp.zeros((T, BATCH, H))
    params = layer.init(jax.random.key(0), layer.initialize_carry((BATCH,)), x, x[..., 0] > 0)
    return layer, params


def complex_params(params):
    """(Λ, Δ, B~[Pk, H], C~[H, Pk], D) in complex128/float64, read by the documented layout."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    re = np.minimum(p["Lambda_re"], -1e-4) if "Lambda_re" in p else -np.exp(p["Lambda_log_neg_re"])
    Lambda = re + 1j * p["Lambda_im"]
    B = (p["B"][:, 0, :] + 1j * p["B"][:, 1, :]).T
    C = (p["C"][0] + 1j * p["C"][1]).T
    return Lambda, np.exp(p["log_step"]), B, C, p["D"]


def numpy_ssm(Lambda, delta, B, C, D, x, reset, h0, discretization):
    """Loop over a diagonal complex SSM: x_t = Λ̄ x_{t-1} + B̄ u_t, y_t = C x_t + D u_t (complex)."""
    if discretization == "zoh":
        Lambda_bar = np.exp(delta * Lambda)
        B_bar = ((Lambda_bar - 1) / Lambda)[:, None] * B
    else:
        Lambda_bar = (1 + delta * Lambda / 2) / (1 - delta * Lambda / 2)
        B_bar = (delta / (1 - delta * Lambda / 2))[:, None] * B
    h, ys = h0.astype(np.complex128), []
    for t in range(x.shape[0]):
        h = np.where(reset[t][:, None], 0, h) * Lambda_bar + x[t] @ B_bar.T
        ys.append(h @ C.T + D * x[t])
    return np.stack(ys), h


@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
@pytest.mark.parametrize("conj_sym", [True, False])
def test_matches_full_complex_ssm(discretization, conj_sym):
    layer, params = init_layer(discretization=discretization, conj_sym=conj_sym, blocks=2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, BATCH, H)).astype(np.float32)
    reset = rng.random((T, BATCH)) < 0.2
    Pk = layer.num_states
    h0 = (rng.normal(size=(BATCH, Pk)) + 1j * rng.normal(size=(BATCH, Pk))).astype(np.complex64)

    h_last, y = jax.jit(layer.apply)(params, jnp.asarray(h0), x, reset)

    Lambda, delta, B, C, D = complex_params(params)
    if conj_sym:  # the full system: every kept state plus its conjugate twin
        Lambda, delta = np.concatenate([Lambda, Lambda.conj()]), np.concatenate([delta, delta])
        B, C = np.concatenate([B, B.conj()]), np.concatenate([C, C.conj()], axis=1)
        h0_full = np.concatenate([h0, h0.conj()], axis=1)
    else:
        h0_full = h0
    y_ref, h_ref = numpy_ssm(Lambda, delta, B, C, D, x, reset, h0_full, discretization)
    if conj_sym:  # conjugate twins make the output real by construction
        assert np.abs(y_ref.imag).max() < 1e-12 * np.abs(y_ref).max()
    y_ref = y_ref.real  # without conj_sym S5 outputs Re(C~ x) + D u
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h_last, h_ref[:, :Pk], rtol=1e-4, atol=1e-5)


def test_zoh_discretization():
    layer, params = init_layer(step_rescale=1.7)
    Lambda_bar, scale = layer.apply(params, method="discretize")
    Lambda, delta, *_ = complex_params(params)
    delta = 1.7 * delta
    np.testing.assert_allclose(np.abs(Lambda_bar), np.exp(delta * Lambda.real), rtol=1e-6)
    np.testing.assert_allclose(np.angle(Lambda_bar), np.angle(np.exp(1j * delta * Lambda.imag)),
                               atol=1e-6)
    np.testing.assert_allclose(scale, (np.exp(delta * Lambda) - 1) / Lambda, rtol=1e-5)


def test_bilinear_discretization():
    layer, params = init_layer(discretization="bilinear")
    Lambda_bar, scale = layer.apply(params, method="discretize")
    Lambda, delta, *_ = complex_params(params)
    z = delta * Lambda / 2
    np.testing.assert_allclose(Lambda_bar, (1 + z) / (1 - z), rtol=1e-6)
    np.testing.assert_allclose(scale, delta / (1 - z), rtol=1e-6)


def test_init_ranges_and_legs_spectrum():
    layer, params = init_layer(dt_min=1e-3, dt_max=1e-1, blocks=2)
    Lambda, delta, *_ = complex_params(params)
    assert np.all((delta >= 1e-3 - 1e-9) & (delta <= 1e-1 + 1e-9))
    expected, _, _ = block_diagonal_legs(P, 2, True)
    np.testing.assert_allclose(Lambda, expected, rtol=1e-6)


def test_init_is_a_real_system_in_the_eigenbasis():
    """With conj_sym and real B, C: V_full B~_full and C~_full V_full^H are real (imag ~ 0)."""
    layer, params = init_layer(blocks=2, C_init="lecun_normal")
    _, V, _ = block_diagonal_legs(P, 2, True)
    _, _, B, C, _ = complex_params(params)
    V_full = np.concatenate([V, V.conj()], axis=1)
    B_real = V_full @ np.concatenate([B, B.conj()])
    C_real = np.concatenate([C, C.conj()], axis=1) @ V_full.conj().T
    assert np.abs(B_real.imag).max() < 1e-6 * np.abs(B_real).max()
    assert np.abs(C_real.imag).max() < 1e-6 * np.abs(C_real).max()


@pytest.mark.parametrize("lambda_real", ["clip", "exp"])
def test_real_part_stays_negative(lambda_real):
    layer, params = init_layer(lambda_real=lambda_real)
    name = "Lambda_re" if lambda_real == "clip" else "Lambda_log_neg_re"
    pushed = jax.tree.map(lambda a: a, params)
    pushed["params"][name] = jnp.full_like(params["params"][name], 5.0)  # far past zero
    Lambda = layer.apply(pushed, method="continuous_lambda")
    Lambda_bar, _ = layer.apply(pushed, method="discretize")
    assert np.all(np.asarray(Lambda.real) < 0)
    assert np.all(np.abs(np.asarray(Lambda_bar)) < 1)


def test_pluggable_eigen_init():
    def diagonal(state_size, blocks, conj_sym):
        Pk = state_size // 2 if conj_sym else state_size
        Lambda = -1.0 - 1j * np.arange(1, Pk + 1)
        V = np.eye(state_size, Pk, dtype=complex)
        return Lambda, V, V.conj().T

    register_s5_eigen_init("test_diagonal", diagonal)
    _, params = init_layer(eig_init="test_diagonal")
    np.testing.assert_allclose(complex_params(params)[0], diagonal(P, 1, True)[0])

    register_s5_eigen_init("test_bad_shapes", lambda P, J, c: diagonal(P + 2, J, c))
    with pytest.raises(ValueError, match="test_bad_shapes"):
        init_layer(eig_init="test_bad_shapes")


@pytest.mark.parametrize(
    "option", [{"discretization": "euler"}, {"C_init": "zeros"}, {"eig_init": "lin"},
               {"lambda_real": "abs"}, {"backend": "fft"}, {"state_size": 6, "blocks": 2},
               {"dt_min": 0.2, "dt_max": 0.1}]
)
def test_bad_options_raise(option):
    with pytest.raises(ValueError, match=next(iter(option))):
        S5(d_model=H, **{"state_size": P, **option})


def test_wrong_input_width_raises():
    layer, params = init_layer()
    with pytest.raises(ValueError, match="d_model"):
        layer.apply(params, layer.initialize_carry((BATCH,)), jnp.zeros((T, BATCH, H + 1)),
                    jnp.zeros((T, BATCH), bool))
