"""GAN building blocks: shapes and conditioning, DiffAugment, R1, the hinge loss, the mode-seeking and
NoisyTwins terms, ADA's update."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.nn.utils import parametrize

from synthgen.errors import SynthgenError
from synthgen.model.gan.augment import adjusted_probability, diff_augment
from synthgen.model.gan.config import (DiscriminatorConfig, DiscriminatorHead, GanAugmentationConfig,
                                       GanConditioningConfig, GeneratorConfig, MbstdGroups)
from synthgen.model.gan.losses import (coverage_loss, discriminator_loss, generator_loss, mode_seeking_loss,
                                       noisy_twins_loss, r1_penalty)
from synthgen.model.gan.networks import (ConditionalNorm, Generator, MinibatchStd, ProjectionDiscriminator, label_grouped,
                                         packed)
from synthgen.model.network import count_parameters

G_CONFIG = GeneratorConfig(latent_dim=8, style_dim=16, mapping_layers=1, channels=(16, 8, 8), norm_groups=4,
                           convs_per_level=1)
D_CONFIG = DiscriminatorConfig(channels=(8, 16, 16), mbstd_group=2)


def _conditions(classes: list[int], dim: int = 4) -> torch.Tensor:
    vectors = torch.zeros(len(classes), dim)
    vectors[torch.arange(len(classes)), torch.tensor(classes)] = 1.0
    return vectors


def _tiny_generator() -> Generator:
    torch.manual_seed(0)
    generator = Generator(G_CONFIG, 4, 16)
    for norm in (m for m in generator.modules() if isinstance(m, ConditionalNorm)):  # give the modulation a non-zero start
        torch.nn.init.normal_(norm.affine.weight, std=0.3)
    return generator.eval()


def test_generator_and_discriminator_are_tiny_and_give_images_and_one_score_per_image():
    generator = _tiny_generator()
    discriminator = ProjectionDiscriminator(D_CONFIG, 4, 16)
    assert 1000 < count_parameters(generator) < 20000 and 1000 < count_parameters(discriminator) < 20000
    latents, noises = generator.draw_batch(6, torch.Generator().manual_seed(1))
    images = generator(latents, _conditions([0, 1, 2, 3, 0, 1]), noises)
    assert images.shape == (6, 1, 16, 16)
    assert [n.shape[-1] for n in noises] == [4, 8, 16]
    assert discriminator(images, _conditions([0, 1, 2, 3, 0, 1])).shape == (6,)


def test_generator_image_depends_on_its_labels_and_not_on_its_batch_mates():
    generator = _tiny_generator()
    latents, noises = generator.draw_batch(4, torch.Generator().manual_seed(2))
    with torch.no_grad():
        batch = generator(latents, _conditions([0, 1, 2, 3]), noises)
        alone = generator(latents[:1], _conditions([0]), [n[:1] for n in noises])
        other_class = generator(latents[:1], _conditions([3]), [n[:1] for n in noises])
        findings = generator(latents[:1], _conditions([0]) + torch.tensor([[0.0, 0.0, 0.0, 1.0]]), [n[:1] for n in noises])
    torch.testing.assert_close(batch[:1], alone, rtol=1e-5, atol=1e-6)
    assert (other_class - alone).abs().max() > 1e-3
    assert (findings - alone).abs().max() > 1e-3  # a multi-hot vector (class + finding) changes the image too


def test_at_conditioning_strength_zero_g_and_d_ignore_the_labels_and_at_one_they_are_unchanged():
    generator = _tiny_generator()
    torch.manual_seed(5)
    discriminator = ProjectionDiscriminator(dataclasses.replace(D_CONFIG, mbstd_group=1), 4, 16).eval()
    latents, noises = generator.draw_batch(2, torch.Generator().manual_seed(2))
    first, last = _conditions([0, 0]), _conditions([3, 3])
    with torch.no_grad():
        images = generator(latents, first, noises, 0.0)
        torch.testing.assert_close(images, generator(latents, last, noises, 0.0))
        torch.testing.assert_close(discriminator(images, first, 0.0), discriminator(images, last, 0.0))
        torch.testing.assert_close(generator(latents, last, noises, 1.0), generator(latents, last, noises))
        half = discriminator(images, last, 0.5) - discriminator(images, first, 0.5)
        torch.testing.assert_close(half * 2, discriminator(images, last) - discriminator(images, first))


def test_transitional_conditioning_ramps_from_start_to_end_and_is_full_without_one():
    ramp = GanConditioningConfig(transition_start=100, transition_end=300)
    assert [ramp.strength(s) for s in (0, 100, 200, 300, 1000)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert GanConditioningConfig().strength(0) == 1.0


@pytest.mark.parametrize(("spectral_norm", "head"), [(True, "sum"), (False, "sum"), (False, "flatten")])
def test_projection_discriminator_score_difference_between_labels_is_the_embedding_projection(spectral_norm, head):
    torch.manual_seed(3)
    config = dataclasses.replace(D_CONFIG, spectral_norm=spectral_norm, head=DiscriminatorHead(head))
    discriminator = ProjectionDiscriminator(config, 4, 16).eval()
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        h = discriminator.pool(discriminator.final(discriminator.with_stddev(discriminator.body(images), _conditions([0, 0]))))
        embed = discriminator.embed.weight  # (channels, label dim), spectrally normalised if configured
        expected = h @ (embed[:, 0] - embed[:, 2])
        got = discriminator(images, _conditions([0, 0])) - discriminator(images, _conditions([2, 2]))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_flatten_head_weighs_each_position_of_the_last_map_and_sum_head_weighs_all_alike():
    """Sum pooling gives a feature the same weight wherever it sits on D's last map; the flatten head
    weighs each position on its own, so D can score the layout (e.g. how a chest is framed)."""
    torch.manual_seed(5)
    config = dataclasses.replace(D_CONFIG, spectral_norm=False)
    weights = {}
    for head in DiscriminatorHead:
        discriminator = ProjectionDiscriminator(dataclasses.replace(config, head=head), 4, 16)
        last = torch.randn(1, D_CONFIG.channels[-1], 4, 4, requires_grad=True)  # 16 / 2^2 = 4
        h = discriminator.pool(last)
        h[0, 0].backward()
        weights[head] = last.grad[0].flatten(1)  # (channels, positions)
        assert h.shape == (1, D_CONFIG.channels[-1])
    assert torch.equal(weights[DiscriminatorHead.SUM], weights[DiscriminatorHead.SUM][:, :1].expand(-1, 16))
    assert weights[DiscriminatorHead.FLATTEN].std(dim=1).min() > 0


def test_label_grouped_order_puts_images_of_one_label_vector_in_one_stddev_group():
    classes = [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1]  # 4 of class 0, 8 of class 1: groups of 4 can all be pure
    conditions = _conditions(classes, dim=2)
    order = label_grouped(conditions, 4)
    assert sorted(order.tolist()) == list(range(12))
    columns = torch.tensor(classes)[order].view(4, 3)  # MinibatchStd's groups are the columns of view(group, n // group)
    assert all(len(set(column.tolist())) == 1 for column in columns.t())
    mixed = label_grouped(_conditions([0, 1, 0, 1, 1, 1], dim=2), 4)  # 6 rows: groups of 3; one must mix
    assert sorted(mixed.tolist()) == list(range(6))
    findings = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    assert torch.equal(label_grouped(findings, 2), torch.tensor([0, 2, 3, 1]))  # ranked: 0, 3, 2, 1 (stable)


def test_stddev_by_labels_sees_a_class_that_collapsed_where_batch_groups_do_not():
    """A batch whose class-0 images are all one image and class-1 images vary: grouped by labels, the
    class-0 images get a stddev of (almost) zero; grouped over the whole batch, every image gets the
    spread between the classes."""
    classes = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])  # the batch's own groups (rows j, j + 2, ...) mix both
    features = torch.randn(8, 3, 2, 2, generator=torch.Generator().manual_seed(7))
    features[classes == 0] = features[0].clone()
    layer = MinibatchStd(4)
    stddev = layer(features, label_grouped(_conditions(classes.tolist(), dim=2), 4))[:, -1]
    by_batch = layer(features)[:, -1, 0, 0]
    assert stddev[classes == 0].max() < 1e-3 < stddev[classes == 1].min()
    assert by_batch.min() > 0.1
    assert torch.equal(stddev, stddev[:, :1, :1].expand(8, 2, 2))  # one value per image, over the whole map


def test_discriminator_groups_by_labels_only_when_configured_and_keeps_one_score_per_image():
    torch.manual_seed(4)
    images = torch.rand(8, 1, 16, 16) * 2 - 1
    conditions = _conditions([0, 0, 1, 1, 2, 2, 3, 3])  # the batch's own pairs (rows j, j + 4) mix labels
    scores = {}
    for groups in MbstdGroups:
        torch.manual_seed(4)
        discriminator = ProjectionDiscriminator(dataclasses.replace(D_CONFIG, mbstd_groups=groups), 4, 16).eval()
        with torch.no_grad():
            scores[groups] = discriminator(images, conditions)
            shuffled = torch.randperm(8, generator=torch.Generator().manual_seed(1))
            again = discriminator(images[shuffled], conditions[shuffled])
        assert scores[groups].shape == (8,)
        if groups is MbstdGroups.LABELS:  # the groups follow the labels, not the rows' places in the batch
            torch.testing.assert_close(again, scores[groups][shuffled], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(scores[MbstdGroups.BATCH], scores[MbstdGroups.LABELS])


def test_packs_stack_images_of_one_label_vector_as_channels_and_mixed_packs_get_the_mean_labels():
    images = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 1, 2, 2)
    conditions = _conditions([1, 0, 1, 2, 0, 1])
    stacked, pack_conditions = packed(images, conditions, 2)
    assert stacked.shape == (3, 2, 2, 2)
    # sorted by label vector (class 0 first), ties in batch order: rows 1, 4 | 0, 2 | 5, 3
    assert stacked[:, :, 0, 0].tolist() == [[1.0, 4.0], [0.0, 2.0], [5.0, 3.0]]
    torch.testing.assert_close(pack_conditions, torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0.5, 0.5, 0]]))
    assert packed(images, conditions, 1)[0] is images


def test_a_packed_discriminator_scores_each_pack_once_and_does_not_depend_on_the_batch_order():
    torch.manual_seed(6)
    discriminator = ProjectionDiscriminator(dataclasses.replace(D_CONFIG, pack=2, mbstd_group=1), 4, 16).eval()
    images = torch.rand(8, 1, 16, 16) * 2 - 1
    conditions = _conditions([0, 1, 0, 1, 2, 2, 3, 3])
    shuffled = torch.tensor([4, 0, 6, 1, 5, 2, 7, 3])  # each label's rows keep their order
    with torch.no_grad():
        scores = discriminator(images, conditions)
        again = discriminator(images[shuffled], conditions[shuffled])
    assert scores.shape == (4,) and discriminator.body[0].conv.in_channels == 2
    # the same packs, same-label images in the same order within each, whatever the batch's order
    torch.testing.assert_close(torch.sort(again).values, torch.sort(scores).values, rtol=1e-5, atol=1e-6)


def test_spectral_norm_wraps_every_layer_of_d_only_when_configured():
    def layers(discriminator):
        return [m for m in discriminator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]

    normed = ProjectionDiscriminator(D_CONFIG, 4, 16)
    plain = ProjectionDiscriminator(dataclasses.replace(D_CONFIG, spectral_norm=False), 4, 16)
    assert D_CONFIG.spectral_norm and all(parametrize.is_parametrized(m, "weight") for m in layers(normed))
    assert not any(parametrize.is_parametrized(m) for m in layers(plain))
    assert count_parameters(normed) == count_parameters(plain)  # the same network, only reparametrised


def test_channels_that_do_not_fit_the_image_size_are_a_clear_error():
    with pytest.raises(SynthgenError, match="generator.channels"):
        Generator(GeneratorConfig(channels=(16, 8, 8, 8, 8), norm_groups=4), 4, 16)  # 16 / 2^4 = 1


def _asymmetric_images(n: int = 8, side: int = 16) -> torch.Tensor:
    ramp = torch.linspace(-1.0, 1.0, side)
    images = (ramp.view(1, side) * 0.5 + ramp.view(side, 1) ** 2 * 0.4).expand(n, 1, side, side).clone()
    return images + torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(4)) * 0.1 - 0.05


def _edge_shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    side = image.shape[-1]
    rows = (torch.arange(side) - dy).clamp(0, side - 1)
    cols = (torch.arange(side) - dx).clamp(0, side - 1)
    return image[..., rows, :][..., cols]


def test_diff_augment_translation_only_shifts_and_never_flips():
    config = GanAugmentationConfig(translation=0.25, cutout=0.0, contrast=0.0, brightness=0.0)
    images = _asymmetric_images()
    out = diff_augment(images, config, 1.0, torch.Generator().manual_seed(5))
    shifts = set()
    for original, augmented in zip(images, out):
        matches = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                   if torch.equal(_edge_shift(original, dy, dx), augmented)]
        assert matches, "an augmented image is not an edge-repeating shift of its original"
        shifts.add(matches[0])
        assert not torch.equal(augmented, _edge_shift(original.flip(-1), *matches[0]))
    assert len(shifts) > 2  # shifts vary per image


def test_diff_augment_keeps_values_in_range_and_probability_zero_is_the_identity():
    config = GanAugmentationConfig(translation=0.5, cutout=0.5, contrast=0.5, brightness=0.5)
    images = torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(6)) * 2 - 1
    out = diff_augment(images, config, 1.0, torch.Generator().manual_seed(7))
    assert out.min() >= -1.0 and out.max() <= 1.0 and not torch.equal(out, images)
    assert (out == 0).float().mean() > 0.05  # cutout holes are mid-grey
    assert torch.equal(diff_augment(images, config, 0.0, torch.Generator().manual_seed(7)), images)


def test_diff_augment_is_differentiable_so_generated_images_get_gradients():
    fakes = torch.zeros(4, 1, 16, 16, requires_grad=True)
    diff_augment(fakes, GanAugmentationConfig(), 1.0, torch.Generator().manual_seed(8)).sum().backward()
    assert fakes.grad is not None and fakes.grad.abs().sum() > 0


def test_r1_penalty_of_a_linear_and_a_quadratic_critic():
    weights = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    inputs = torch.randn(3, 1, 2, 2, requires_grad=True)
    linear = (inputs * weights).sum(dim=(1, 2, 3))
    assert float(r1_penalty(linear, inputs).detach()) == pytest.approx(1 + 4 + 0.25 + 9)  # |w|²
    quadratic = (inputs ** 2).sum(dim=(1, 2, 3))
    expected = float((4 * inputs.detach() ** 2).sum(dim=(1, 2, 3)).mean())  # |2x|²
    assert float(r1_penalty(quadratic, inputs).detach()) == pytest.approx(expected, rel=1e-6)


def test_hinge_losses_on_known_scores():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    # D: mean relu(1 - real) = (0 + 0.5 + 2) / 3; mean relu(1 + fake) = (0 + 1 + 2) / 3
    assert float(discriminator_loss(real, fake)) == pytest.approx(2.5 / 3 + 3 / 3)
    assert float(generator_loss(fake)) == pytest.approx(1 / 3)


def test_mode_seeking_loss_is_latent_over_image_distance_of_the_half_batch_pairs():
    latents = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, 3.0], [9.0, 9.0]])  # pairs (0, 2), (1, 3); 4 unpaired
    images = torch.zeros(5, 1, 1, 2)
    images[2] = 0.5  # pair (0, 2): |diff| 0.5 per pixel; pair (1, 3): identical images
    # mean |image diff| = 0.25, mean |latent diff| = (2 + 0 + 0 + 2) / 4 = 1  ->  1 / 0.25
    assert float(mode_seeking_loss(images, latents)) == pytest.approx(4.0, rel=1e-4)
    collapsed = mode_seeking_loss(torch.zeros(4, 1, 2, 2), latents[:4])
    assert float(collapsed) == pytest.approx(1e5)  # one image for every latent: the term's ceiling


def test_noisy_twins_loss_on_known_styles():
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])  # two uncorrelated unit dimensions
    assert float(noisy_twins_loss(signs, signs, 0.005)) == pytest.approx(0.0, abs=1e-8)
    assert float(noisy_twins_loss(signs, -signs, 0.005)) == pytest.approx(8.0, rel=1e-4)  # (-1 - 1)² per dimension
    collapsed = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]])  # both dimensions one factor
    assert float(noisy_twins_loss(collapsed, collapsed, 0.005)) == pytest.approx(0.005 * 2, rel=1e-4)
    assert float(noisy_twins_loss(signs * 3 + 5, signs, 0.005)) == pytest.approx(0.0, abs=1e-8)  # scale-free


def test_coverage_loss_is_each_real_images_distance_to_its_nearest_generated_image_of_its_labels():
    # 2x2 images pooled to 1x1: each image is its mean; reals of class 0 (means 0, 1), class 1 (mean 0.5),
    # class 3 (no generated image: left out); generated: class 0 means 0.2 and 0.9, class 1 mean -0.5
    def flat(values):
        return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()

    reals, real_conditions = flat([0.0, 1.0, 0.5, 7.0]), _conditions([0, 0, 1, 3])
    fakes = flat([0.2, 0.9, -0.5]).requires_grad_(True)
    loss = coverage_loss(fakes, _conditions([0, 0, 1]), reals, real_conditions, 1)
    assert float(loss.detach()) == pytest.approx((0.2 ** 2 + 0.1 ** 2 + 1.0 ** 2) / 3)  # the class-1 fake is 1 away, not 0.3
    loss.backward()
    assert torch.all(fakes.grad != 0)  # every generated image is some real image's nearest here
    no_match = coverage_loss(fakes, _conditions([2, 2, 2]), reals, real_conditions, 1)
    assert float(no_match.detach()) == 0.0 and no_match.requires_grad


def test_embedding_noise_moves_the_style_in_units_of_the_embedding_rms_and_none_leaves_it():
    generator, conditions = _tiny_generator(), _conditions([0, 1])
    latents = torch.randn(2, G_CONFIG.latent_dim, generator=torch.Generator().manual_seed(1))
    zero = torch.zeros(2, G_CONFIG.style_dim)
    with torch.no_grad():
        plain = generator.style(latents, conditions)
        assert torch.equal(generator.style(latents, conditions, embedding_noise=zero), plain)
        noisy = generator.style(latents, conditions, embedding_noise=torch.ones(2, G_CONFIG.style_dim))
        embedding = generator.label_embed(conditions)
        rms = embedding.square().mean(dim=1, keepdim=True).sqrt()
        expected = generator.mapping(torch.cat([latents, embedding + rms], dim=1))
        torch.testing.assert_close(noisy, expected)
        images = generator(latents, conditions, None)
        torch.testing.assert_close(images, generator.synthesis(plain, None))


def test_paired_rows_repeat_the_first_half_and_keep_an_odd_last_row():
    from synthgen.model.gan.step import paired_rows

    conditions = _conditions([0, 1, 2, 3, 2])
    assert paired_rows(conditions).argmax(dim=1).tolist() == [0, 1, 0, 1, 2]
    assert conditions.argmax(dim=1).tolist() == [0, 1, 2, 3, 2]  # the caller's batch is left alone


def test_adaptive_probability_rises_when_d_is_sure_on_reals_and_stays_in_0_1():
    config = GanAugmentationConfig(adaptive=True, target=0.6, adjust_every=4, adjust_images=1000)
    assert adjusted_probability(0.5, 0.9, 50, config) == pytest.approx(0.7)  # 50 * 4 / 1000
    assert adjusted_probability(0.5, 0.2, 50, config) == pytest.approx(0.3)
    assert adjusted_probability(0.0, 0.0, 50, config) == 0.0 and adjusted_probability(1.0, 1.0, 50, config) == 1.0


@pytest.mark.parametrize(("discriminator", "loss"), [({"spectral_norm": True}, {}), ({}, {}), ({}, {"mode_seeking": 1.0}),
                                                    ({}, {"noisy_twins": 0.01}), ({"pack": 2}, {}),
                                                    ({}, {"coverage": 10.0})])
def test_adversarial_step_updates_d_d_steps_times_then_g_once_and_reports_finite_losses(discriminator, loss):
    from synthgen.model.gan.step import GanModels, adversarial_step, build_optimizers
    from tests.fixtures.gan import tiny_gan_config

    config = tiny_gan_config(training={"d_steps": 2}, discriminator={"spectral_norm": False, **discriminator},
                             loss=loss, conditioning={"embedding_noise": 0.75 if loss.get("noisy_twins") else 0.0})
    torch.manual_seed(0)
    G, D = Generator(config.generator, 4, 16), ProjectionDiscriminator(config.discriminator, 4, 16)
    models = GanModels(G, D, *build_optimizers(G, D, config))
    reals = torch.rand(8, 1, 16, 16) * 2 - 1
    losses = adversarial_step(models, config, reals, _conditions([0, 1, 2, 3] * 2), 0, 0.5,
                              torch.Generator().manual_seed(9))
    d_state = models.d_optimizer.state[next(iter(D.parameters()))]
    g_state = models.g_optimizer.state[next(iter(G.parameters()))]
    assert float(d_state["step"]) == 2 and float(g_state["step"]) == 1
    assert losses.r1 is not None and losses.r1 > 0  # step 0 is an R1 step
    assert all(map(lambda v: v == v and abs(v) < 1e3, (losses.discriminator, losses.generator)))
    assert -1.0 <= losses.real_sign <= 1.0


def test_the_mapping_network_learns_at_its_own_rate_and_every_g_parameter_is_optimised_once():
    from synthgen.model.gan.step import build_optimizers
    from tests.fixtures.gan import tiny_gan_config

    config = tiny_gan_config(training={"mapping_lr_ratio": 0.01})
    G, D = Generator(config.generator, 4, 16), ProjectionDiscriminator(config.discriminator, 4, 16)
    g_optimizer, _ = build_optimizers(G, D, config)
    rest, mapping = g_optimizer.param_groups
    assert rest["lr"] == config.training.lr and mapping["lr"] == pytest.approx(config.training.lr * 0.01)
    assert {id(p) for p in mapping["params"]} == {id(p) for p in G.mapping.parameters()}
    assert sorted(map(id, rest["params"] + mapping["params"])) == sorted(map(id, G.parameters()))
    plain, _ = build_optimizers(G, D, tiny_gan_config())
    assert len(plain.param_groups) == 1  # as before the option: older checkpoints' optimizer state still loads


def test_noisy_twins_changes_the_generator_update_and_stays_deterministic():
    from synthgen.model.gan.step import GanModels, adversarial_step, build_optimizers
    from tests.fixtures.gan import tiny_gan_config

    def generator_after_one_step(config) -> dict:
        torch.manual_seed(0)
        G, D = Generator(config.generator, 4, 16), ProjectionDiscriminator(config.discriminator, 4, 16)
        models = GanModels(G, D, *build_optimizers(G, D, config))
        reals = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
        adversarial_step(models, config, reals, _conditions([0, 1, 2, 3] * 2), 1, 0.0, torch.Generator().manual_seed(9))
        return G.state_dict()

    twins = tiny_gan_config(loss={"noisy_twins": 1.0}, conditioning={"embedding_noise": 0.75})
    noise_only = tiny_gan_config(conditioning={"embedding_noise": 0.75})
    a, b, c = generator_after_one_step(twins), generator_after_one_step(twins), generator_after_one_step(noise_only)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["mapping.0.weight"], c["mapping.0.weight"])
