"""Generator and projection discriminator, built from MONAI blocks (Convolution).

G: a mapping MLP turns (latent z, label embedding) into a style vector w. The synthesis starts from
a linear map of w to the first resolution, then each level (upsampled ×2 after the first) applies
two 3x3 convolutions, each followed by per-pixel noise (StyleGAN), LeakyReLU and conditional group
normalisation (features normalised per image, then scaled and shifted by affine maps of w). Group
norm is per image, so an image never depends on its batch mates: any image can be regenerated
alone. The label embedding is a bias-free linear map of the label vector (one-hot class + 0/1
findings), i.e. the sum of one learned vector per active label, as in the diffusion model.

D: spectral-norm convolutions halving the resolution per level, a minibatch-stddev channel
(Karras et al.: lets D see a batch's lack of variety, the usual sign of mode collapse; with
`mbstd_groups: labels` over images of one label vector, so a class that collapsed cannot hide behind
the spread between classes), a last
convolution, then h by sum pooling (`head: sum`) or a dense layer over every position (`head:
flatten`, as StyleGAN2's epilogue: D can tell where things are, e.g. how a chest is framed), and the
projection head of Miyato & Koyama 2018: score = linear(h) + <embed(label vector), h>. With `pack` > 1
(PacGAN, Lin et al. 2018) D scores packs of images stacked as channels, rows of one label vector packed
together as far as the batch allows (a mixed pack is scored with its mean label vector).
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from synthgen.errors import SynthgenError
from synthgen.model.gan.config import DiscriminatorConfig, DiscriminatorHead, GeneratorConfig, MbstdGroups

_LEAKY = ("leakyrelu", {"negative_slope": 0.2})


def _conv(in_channels: int, out_channels: int, kernel_size: int = 3, strides: int = 1, act=None) -> Convolution:
    return Convolution(spatial_dims=2, in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                       strides=strides, act=act, norm=None, conv_only=act is None)


def start_resolution(image_size: int, levels: int) -> int:
    """The side of G's first feature map (D's last): image_size halved once per level after the first."""
    start, rest = divmod(image_size, 2 ** (levels - 1))
    if rest or start < 2:
        raise SynthgenError(
            f"{levels} levels of channels do not fit {image_size}² images: image_size / 2^(levels - 1) must be a "
            f"whole number >= 2; change generator.channels / discriminator.channels"
        )
    return start


def upsample_nearest(x: torch.Tensor) -> torch.Tensor:
    """×2 nearest-neighbour upsampling as one strided copy: half the time of F.interpolate (or MONAI's
    UpSample, which calls it) on CPU, where sampling spends a quarter of its time upsampling."""
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


class ConditionalNorm(nn.Module):
    """Group norm without its own affine, then x * (1 + scale(w)) + shift(w)."""

    def __init__(self, channels: int, groups: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, affine=False)
        self.affine = nn.Linear(style_dim, 2 * channels)
        nn.init.zeros_(self.affine.bias)  # random weights: w modulates every layer from the first step

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(w)[:, :, None, None].chunk(2, dim=1)
        return torch.addcmul(shift, self.norm(x), 1.0 + scale)


class StyledConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, config: GeneratorConfig) -> None:
        super().__init__()
        self.conv = _conv(in_channels, out_channels)
        self.noise_strength = nn.Parameter(torch.zeros(1, out_channels, 1, 1)) if config.noise else None
        self.act = nn.LeakyReLU(0.2)
        self.norm = ConditionalNorm(out_channels, config.norm_groups, config.style_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        x = self.conv(x)
        if self.noise_strength is not None and noise is not None:
            x = torch.addcmul(x, self.noise_strength, noise)
        return self.norm(self.act(x), w)


class Generator(nn.Module):
    def __init__(self, config: GeneratorConfig, label_dim: int, image_size: int) -> None:
        super().__init__()
        self.config, self.image_size = config, image_size
        self.start = start_resolution(image_size, len(config.channels))
        self.label_embed = nn.Linear(label_dim, config.style_dim, bias=False)
        layers: list[nn.Module] = []
        width = config.latent_dim + config.style_dim
        for _ in range(config.mapping_layers):
            layers += [nn.Linear(width, config.style_dim), nn.LeakyReLU(0.2)]
            width = config.style_dim
        self.mapping = nn.Sequential(*layers)
        first = config.channels[0]
        self.input = nn.Linear(config.style_dim, first * self.start * self.start)
        self.convs = nn.ModuleList()
        previous = first
        for channels in config.channels:
            for _ in range(config.convs_per_level):
                self.convs.append(StyledConv(previous, channels, config))
                previous = channels
        self.to_image = _conv(previous, 1, kernel_size=1)

    def noise_sides(self) -> list[int]:
        """The side of each conv's noise input, in order."""
        return [self.start * 2 ** (i // self.config.convs_per_level) for i in range(len(self.convs))]

    def draw_inputs(self, generators: list[torch.Generator]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Latents (N, latent_dim) and per-conv noise maps, every image's from its own generator."""
        latents, noises = [], []
        for g in generators:
            latents.append(torch.randn(self.config.latent_dim, generator=g))
            noises.append([torch.randn((1, s, s), generator=g) for s in self.noise_sides()])
        return torch.stack(latents), [torch.stack([n[i] for n in noises]) for i in range(len(self.convs))]

    def draw_batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Training: a batch's latents and noise maps from one generator (faster than one per image)."""
        latents = torch.randn((n, self.config.latent_dim), generator=generator)
        return latents, [torch.randn((n, 1, s, s), generator=generator) for s in self.noise_sides()]

    def style(self, latents: torch.Tensor, conditions: torch.Tensor, strength: float = 1.0,
              embedding_noise: torch.Tensor | None = None) -> torch.Tensor:
        """w (N, style_dim). `embedding_noise` (N, style_dim), training only: added to the label embedding
        in units of its RMS (conditioning.embedding_noise)."""
        embedding = self.label_embed(conditions)
        if embedding_noise is not None:
            rms = embedding.detach().square().mean(dim=1, keepdim=True).sqrt()
            embedding = embedding + embedding_noise * rms
        return self.mapping(torch.cat([latents, embedding * strength], dim=1))

    def forward(self, latents: torch.Tensor, conditions: torch.Tensor, noises: list[torch.Tensor] | None = None,
                strength: float = 1.0, embedding_noise: torch.Tensor | None = None) -> torch.Tensor:
        """Images (N, 1, H, W), roughly in [-1, 1] (not clamped: D sees the raw values). `strength` scales
        the label embedding (transitional conditioning while training; 1 for a trained model)."""
        return self.synthesis(self.style(latents, conditions, strength, embedding_noise), noises)

    def synthesis(self, w: torch.Tensor, noises: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images from styles w (N, style_dim) and per-conv noise maps."""
        x = self.input(w).view(-1, self.config.channels[0], self.start, self.start)
        for i, conv in enumerate(self.convs):
            if i and i % self.config.convs_per_level == 0:
                x = upsample_nearest(x)
            x = conv(x, w, noises[i] if noises is not None else None)
        return self.to_image(x)


class MinibatchStd(nn.Module):
    """Appends the mean std of features across groups of `group` images as one more channel."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
        """`order`: a permutation of the batch; the groups are then taken over x[order] (label_grouped)."""
        n, c, h, w = x.shape
        group = group_size(n, self.group)
        y = (x if order is None else x[order]).view(group, n // group, c, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // group,)
        y = y.view(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(n, 1, h, w)
        if order is not None:
            y = torch.empty_like(y).index_copy(0, order, y)  # back to the batch's own order
        return torch.cat([x, y], dim=1)


def group_size(n: int, group: int) -> int:
    """The minibatch-stddev group size for a batch of n: `group`, lowered until it divides n."""
    group = min(group, n)
    while n % group:
        group -= 1
    return group


def label_grouped(conditions: torch.Tensor, group: int) -> torch.Tensor:
    """A permutation of the batch after which MinibatchStd's groups (rows j, j + n/g, j + 2n/g, ...) hold
    images with the same label vector, as far as the batch allows: rows sorted by their labels
    (lexicographically: label vectors are 0/1, class one-hot first), run k of g sorted rows to group k."""
    n = conditions.shape[0]
    g = group_size(n, group)
    return label_order(conditions).view(n // g, g).t().reshape(-1)


def label_order(conditions: torch.Tensor) -> torch.Tensor:
    """The batch's rows sorted by their label vectors (lexicographically: 0/1 values, class one-hot first),
    ties in batch order: rows with the same labels end up next to each other."""
    place_values = 2.0 ** -torch.arange(conditions.shape[1], dtype=torch.float64, device=conditions.device)
    return torch.sort(conditions.double() @ place_values, descending=True, stable=True).indices


def packed(images: torch.Tensor, conditions: torch.Tensor, pack: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PacGAN's input: (N / pack, pack, H, W) images of (mostly) one label vector per pack, and each
    pack's mean label vector; N must be a multiple of pack."""
    if pack == 1:
        return images, conditions
    n, _, height, width = images.shape
    order = label_order(conditions)
    return (images[order].reshape(n // pack, pack, height, width),
            conditions[order].reshape(n // pack, pack, -1).mean(dim=1))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig, label_dim: int, image_size: int) -> None:
        super().__init__()
        self.end = start_resolution(image_size, len(config.channels))
        channels = config.channels
        self.pack = config.pack
        blocks: list[nn.Module] = [_conv(config.pack, channels[0], act=_LEAKY)]
        for before, after in zip(channels[:-1], channels[1:]):
            blocks += [_conv(before, before, act=_LEAKY), _conv(before, after, strides=2, act=_LEAKY)]
        self.body = nn.Sequential(*blocks)
        self.mbstd = MinibatchStd(config.mbstd_group) if config.mbstd_group > 1 else None
        self.group_by_labels = config.mbstd_groups is MbstdGroups.LABELS
        last = channels[-1]
        self.final = _conv(last + (1 if config.mbstd_group > 1 else 0), last, act=_LEAKY)
        self.dense = (nn.Sequential(nn.Flatten(), nn.Linear(last * self.end * self.end, last), nn.LeakyReLU(0.2))
                      if config.head is DiscriminatorHead.FLATTEN else None)
        self.linear = nn.Linear(last, 1)
        self.embed = nn.Linear(label_dim, last, bias=False)
        if config.spectral_norm:
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    spectral_norm(module)

    def forward(self, images: torch.Tensor, conditions: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """One score per image, or per pack of `pack` images (N / pack,): high = looks real for its labels.
        `strength` scales the projection term (transitional conditioning; 0: the unconditional score alone)."""
        images, conditions = packed(images, conditions, self.pack)
        h = self.pool(self.final(self.with_stddev(self.body(images), conditions)))
        return self.linear(h).squeeze(1) + (self.embed(conditions) * h).sum(dim=1) * strength

    def with_stddev(self, features: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
        """D's body features with the minibatch-stddev channel appended (when the layer is on)."""
        if self.mbstd is None:
            return features
        order = label_grouped(conditions, self.mbstd.group) if self.group_by_labels else None
        return self.mbstd(features, order)

    def pool(self, last: torch.Tensor) -> torch.Tensor:
        """h (N, channels[-1]) from D's last feature map, as `head` says: what the projection head scores."""
        return self.dense(last) if self.dense is not None else last.sum(dim=(2, 3))
