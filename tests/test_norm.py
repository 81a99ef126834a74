import torch

from stylecycle.nn import instance_norm


def by_hand(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
    """y = (x - mu) / sqrt(var + eps) * gamma + beta, per sample and channel, biased variance."""
    out = torch.empty_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            plane = x[n, c]
            mu = plane.sum() / plane.numel()
            var = ((plane - mu) ** 2).sum() / plane.numel()
            out[n, c] = (plane - mu) / torch.sqrt(var + eps) * gamma[c] + beta[c]
    return out


def test_instance_norm_matches_the_formula_computed_by_hand():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 7, 9, dtype=torch.float64) * 4 + 2
    norm = instance_norm()(5).double()
    expected = by_hand(x, torch.ones(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64), 1e-5)
    torch.testing.assert_close(norm(x), expected, rtol=0, atol=1e-10)


def test_affine_instance_norm_applies_learned_gamma_and_beta():
    torch.manual_seed(1)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    norm = instance_norm(affine=True)(4).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([0.5, 2.0, -1.0, 3.0]))
        norm.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    torch.testing.assert_close(norm(x), by_hand(x, norm.weight, norm.bias, 1e-5), rtol=0, atol=1e-10)


def test_instance_norm_is_per_sample_so_batching_changes_nothing():
    torch.manual_seed(2)
    a, b = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8) * 10
    norm = instance_norm()(3)
    torch.testing.assert_close(norm(torch.cat([a, b])), torch.cat([norm(a), norm(b)]))


def test_instance_norm_keeps_no_running_statistics():
    norm = instance_norm()(3)
    assert norm.running_mean is None and not norm.track_running_stats
    norm.train()
    x = torch.randn(2, 3, 5, 5)
    train_out = norm(x)
    norm.eval()
    torch.testing.assert_close(norm(x), train_out)


def test_channels_last_instance_norm_gives_the_same_values_and_gradients_and_stays_channels_last():
    torch.manual_seed(3)
    norm = instance_norm(affine=True)(4)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([0.5, 2.0, -1.0, 3.0]))
    for batch in (1, 3):
        x = torch.randn(batch, 4, 6, 5) * 3 + 1
        x_cl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
        x_plain = x.detach().clone().requires_grad_(True)
        out_cl, out_plain = norm(x_cl), norm(x_plain)
        assert out_cl.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(out_cl, out_plain)
        grad = torch.randn_like(out_plain)
        torch.testing.assert_close(torch.autograd.grad(out_cl, x_cl, grad)[0], torch.autograd.grad(out_plain, x_plain, grad)[0])


def test_channels_last_instance_norm_without_gradients_gives_the_same_values_and_stays_channels_last():
    torch.manual_seed(4)
    norm = instance_norm(affine=True)(4)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([0.5, 2.0, -1.0, 3.0]))
        norm.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    for batch in (1, 3):
        x = torch.randn(batch, 4, 6, 5) * 3 + 1
        with torch.inference_mode():
            out = norm(x.contiguous(memory_format=torch.channels_last))
            assert out.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(out, norm(x))
            # bf16 activations with fp32 gamma and beta, as under autocast: within bf16's rounding
            out_bf16 = norm(x.bfloat16().contiguous(memory_format=torch.channels_last))
            assert out_bf16.dtype == torch.bfloat16 and out_bf16.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(out_bf16.float(), norm(x), rtol=0.02, atol=0.05)
