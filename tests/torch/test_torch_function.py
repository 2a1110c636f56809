"""Function penalties: true operator norm of a convolution vs a brute-force dense matrix,
spectral norm penalty, Jacobian penalty exact and estimated."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def dense_matrix(layer, input_shape, weight=None):
    """The layer (without bias) as an explicit matrix, built column by column."""
    n = int(torch.tensor(input_shape).prod())
    basis = torch.eye(n, dtype=layer.weight.dtype).reshape(n, *input_shape)
    w = layer.weight if weight is None else weight
    if isinstance(layer, nn.Linear):
        cols = nn.functional.linear(basis, w)
    else:
        cols = layer._conv_forward(basis, w, None)  # applies padding_mode too
    return cols.reshape(n, -1).T


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 5, 5)),
        (lambda: nn.Conv2d(2, 2, 3, stride=2), (2, 7, 6)),
        (lambda: nn.Conv1d(3, 2, 2), (3, 6)),
        (lambda: nn.Linear(6, 4), (6,)),
        (lambda: nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular"), (2, 5)),
    ],
)
def test_operator_norm_matches_dense_matrix(make, shape):
    torch.manual_seed(0)
    layer = make().double()
    sigma = rt.operator_norm(layer, shape, n_iter=1000, tol=1e-10, generator=gen())
    exact = torch.linalg.matrix_norm(dense_matrix(layer, shape), ord=2).item()
    # ||A v|| is a lower bound of sigma_max; power iteration closes the gap
    assert exact * (1 - 1e-6) <= sigma.item() <= exact * (1 + 1e-12)
    # differentiable in the weight: d sigma / dW equals the dense-matrix gradient
    (g,) = torch.autograd.grad(sigma, layer.weight)
    w = layer.weight.detach().clone().requires_grad_(True)
    (g_ref,) = torch.autograd.grad(
        torch.linalg.matrix_norm(dense_matrix(layer, shape, w), ord=2), w
    )
    assert torch.allclose(g, g_ref, rtol=1e-3, atol=1e-6)


def test_reshaped_matrix_norm_is_not_the_conv_operator_norm():
    # a 3x3 box filter: the reshaped 1 x 9 kernel matrix has norm ||ones(9)|| = 3, while the
    # convolution maps a (nearly) constant image to ~9 times itself
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
    reshaped = torch.linalg.matrix_norm(conv.weight.reshape(1, -1), ord=2).item()  # = 3
    op = rt.operator_norm(conv, (1, 16, 16), n_iter=1000, tol=1e-10, generator=gen()).item()
    assert reshaped == pytest.approx(3.0)
    exact = torch.linalg.matrix_norm(dense_matrix(conv, (1, 16, 16)), ord=2).item()
    assert exact * (1 - 1e-6) <= op <= exact * (1 + 1e-12)
    assert op > 8.0  # a 3x3 box filter amplifies a constant image by up to 9


def test_spectral_norm_penalty_matrix_and_operator():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3)).double()
    value = rt.spectral_norm_penalty(model, n_iter=200, generator=gen())
    expected = sum(
        0.5 * torch.linalg.matrix_norm(m.weight.reshape(m.weight.shape[0], -1), ord=2) ** 2
        for m in (model[0], model[2])
    )
    assert value.item() == pytest.approx(expected.item(), rel=1e-8)
    value.backward()
    assert model[0].weight.grad is not None
    op = rt.spectral_norm_penalty(model, input_shapes={"0": (1, 4, 4)}, n_iter=300, generator=gen())
    conv_op = torch.linalg.matrix_norm(dense_matrix(model[0], (1, 4, 4)), ord=2)
    lin = torch.linalg.matrix_norm(model[2].weight, ord=2)
    assert op.item() == pytest.approx(0.5 * (conv_op**2 + lin**2).item(), rel=1e-6)
    with pytest.raises(ValueError, match="input_shapes names"):
        rt.spectral_norm_penalty(model, input_shapes={"1": (3,)})
    with pytest.raises(ValueError, match="no nn.Linear"):
        rt.spectral_norm_penalty(nn.ReLU())
    with pytest.raises(TypeError, match="module must be"):
        rt.operator_norm(nn.ReLU(), (3,))


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 4)).double()


def exact_jacobian_penalty(model, x):
    jac = torch.func.vmap(torch.func.jacrev(model))(x)  # (B, 4, 5)
    return 0.5 * jac.square().sum((1, 2)).mean()


def test_jacobian_penalty_exact_with_all_basis_vectors():
    model = mlp()
    x = torch.randn(6, 5, dtype=torch.float64, generator=gen()).requires_grad_(True)
    value = rt.jacobian_penalty(x, model(x), projections=None)
    assert value.item() == pytest.approx(exact_jacobian_penalty(model, x).item(), rel=1e-12)
    value.backward()  # create_graph: trainable
    assert model[0].weight.grad is not None


def test_jacobian_penalty_random_projections_unbiased():
    model = mlp()
    x = torch.randn(400, 5, dtype=torch.float64, generator=gen(1)).requires_grad_(True)
    est = rt.jacobian_penalty(x, model(x), projections=4, generator=gen(2), create_graph=False)
    exact = exact_jacobian_penalty(model, x)
    assert est.item() == pytest.approx(exact.item(), rel=0.05)
    # a linear map: J_b = W for every sample; one projection per sample, averaged over many
    lin = nn.Linear(5, 3, bias=False).double()
    z = torch.randn(3000, 5, dtype=torch.float64, generator=gen(3)).requires_grad_(True)
    one = rt.jacobian_penalty(z, lin(z), projections=1, generator=gen(4), create_graph=False)
    assert one.item() == pytest.approx(0.5 * lin.weight.square().sum().item(), rel=0.05)


def test_jacobian_penalty_errors():
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match="x must require grad"):
        rt.jacobian_penalty(x, x * 2)
    xr = x.clone().requires_grad_(True)
    with pytest.raises(ValueError, match="same batch size"):
        rt.jacobian_penalty(xr, (xr * 2)[:2])
    with pytest.raises(ValueError, match="projections must be an int >= 1"):
        rt.jacobian_penalty(xr, xr * 2, projections=0)
