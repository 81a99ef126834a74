import pytest
import torch

from reference import reference_layout
from stylecycle.config import ModelConfig
from stylecycle.model import build_discriminator, build_generator
from stylecycle.nn import PatchDiscriminator, ResnetGenerator, create_generator


@pytest.mark.parametrize("height,width", [(301, 517), (64, 64), (33, 7), (5, 3), (1, 1)])
def test_generator_returns_the_input_size_for_any_size(height, width):
    generator = ResnetGenerator(ngf=4, n_blocks=2)
    out = generator(torch.rand(2, 3, height, width) * 2 - 1)
    assert out.shape == (2, 3, height, width)
    assert out.abs().max() <= 1.0  # tanh head: outputs live in the image range


@pytest.mark.parametrize("name", ["resnet_6blocks", "resnet_9blocks", "unet_128", "unet_256"])
def test_generator_layout_matches_the_reference_implementation(name):
    expected = reference_layout(name)
    ours = {k: tuple(v.shape) for k, v in create_generator(name).state_dict().items()}
    assert ours == expected


def test_patch_discriminator_sees_70x70_patches():
    """Each output score depends on exactly a 70x70 window of the input (n_layers=3).

    InstanceNorm's statistics span the whole image, so the window is measured without it."""
    disc = PatchDiscriminator(ndf=4, n_layers=3, norm=lambda channels: torch.nn.Identity())
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    [scores] = disc(x)
    scores[0, 0, scores.shape[2] // 2, scores.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


def test_patch_discriminator_scores_a_30x30_grid_of_patches_at_256():
    assert PatchDiscriminator(ndf=4)(torch.randn(1, 3, 256, 256))[0].shape == (1, 1, 30, 30)


def test_weights_start_from_normal_with_std_002():
    model = ModelConfig(ngf=32, ndf=32)
    for net in (build_generator(model), build_discriminator(model)):
        weights = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, torch.nn.Conv2d)])
        assert abs(weights.mean().item()) < 1e-3
        assert weights.std().item() == pytest.approx(0.02, rel=0.05)
        assert all(m.bias.abs().max() == 0 for m in net.modules() if isinstance(m, torch.nn.Conv2d))


def test_global_skip_starts_the_generator_near_the_identity():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 64, 64) * 1.8 - 0.9
    skip = build_generator(ModelConfig(ngf=16, n_blocks=2, global_skip=True))
    plain = build_generator(ModelConfig(ngf=16, n_blocks=2))
    with torch.no_grad():
        torch.testing.assert_close(skip(image), image, rtol=0, atol=0.01)  # 0.99 x: the skip's clamp
        assert (plain(image) - image).abs().mean() > 0.3
    assert skip.state_dict().keys() == plain.state_dict().keys()  # no extra weights: same checkpoint layout


def test_reflection_padding_stays_in_bf16_under_autocast():
    from stylecycle.nn.generators import ReflectionPad2d

    x = torch.randn(1, 2, 5, 5).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = ReflectionPad2d(1)(x)
    assert padded.dtype == torch.bfloat16  # autocast alone would widen it to fp32
    assert torch.equal(padded, torch.nn.functional.pad(x.float(), (1, 1, 1, 1), mode="reflect").to(torch.bfloat16))


def test_a_channels_last_generator_translates_like_a_contiguous_one():
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(ngf=8, n_blocks=2)).eval()
    x = torch.rand(2, 3, 40, 36) * 2 - 1
    with torch.no_grad():
        expected = generator(x)
        out = generator.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
