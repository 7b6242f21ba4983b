"""Synthetic galleries with a known stranger distribution, for the tests and bench/identification.py.

Plain Python (numpy). See docs/decisions/0024 for the calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biometrics.match_index import DIMENSIONS

# Calibrated (bench/identification.py prints the figures) so that, between two templates, strangers
# are a median 0.84 apart with about 5 in 10,000 within 0.6 (the published tail; the kit's 179
# stranger pairs: 0.659-1.025, median 0.833) and one person's templates a median 0.35 apart with 99%
# within 0.55 (the kit's 74 pairs: 0.018-0.523, median 0.342). Faces vary along a few dozen
# directions (an identity, on a sphere in LATENT_DIMENSIONS of them) plus per-photo noise in all 128.
LATENT_DIMENSIONS = 36
IDENTITY_RADIUS = 0.535  # identities lie on a sphere: every face has as many lookalikes as any other
TEMPLATE_NOISE = 0.242  # median length of a photo's noise
TEMPLATE_NOISE_SPREAD = 0.25  # log-normal spread of that length


@dataclass(frozen=True)
class SyntheticFaces:
    """A population of synthetic faces: identities, and photos (frames, templates) of them."""

    seed: int
    identity_scale: float = 1.0  # below 1: a denser population, more lookalikes

    def _basis(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 0])
        basis, _ = np.linalg.qr(rng.standard_normal((DIMENSIONS, LATENT_DIMENSIONS)))
        centre = rng.normal(0.0, 0.1, DIMENSIONS)
        return basis, centre

    def identities(self, count: int, rng: np.random.Generator) -> np.ndarray:
        basis, centre = self._basis()
        latent = rng.standard_normal((count, LATENT_DIMENSIONS))
        latent *= (IDENTITY_RADIUS * self.identity_scale) / np.linalg.norm(latent, axis=1, keepdims=True)
        return centre + latent @ basis.T

    def photos(self, identities: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
        """`frames` independent photos of each identity: shape (identities, frames, 128), float32."""
        count = len(identities)
        lengths = TEMPLATE_NOISE * np.exp(
            TEMPLATE_NOISE_SPREAD * rng.standard_normal((count, frames, 1), dtype=np.float32)
        )
        noise = rng.standard_normal((count, frames, DIMENSIONS), dtype=np.float32)
        noise *= lengths / np.float32(math.sqrt(DIMENSIONS))
        noise += np.asarray(identities, dtype=np.float32)[:, None, :]
        return noise


@dataclass(frozen=True)
class SyntheticGallery:
    faces: SyntheticFaces
    identities: np.ndarray  # one row per shopper, in shopper id order (ids 1..size)
    encodings_by_shopper: dict[int, np.ndarray]

    @property
    def shopper_ids(self) -> np.ndarray:
        return np.arange(1, len(self.identities) + 1, dtype=np.int64)

    def strangers(self, count: int, *, seed: int, frames: int = 1) -> np.ndarray:
        """Held-out strangers from the same population: (count, frames, 128), frames independent."""
        rng = np.random.default_rng([self.faces.seed, 2, seed])
        return self.faces.photos(self.faces.identities(count, rng), frames, rng)

    def visits(self, count: int, *, seed: int, frames: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """New photos of `count` enrolled shoppers (drawn with replacement): their ids and (count, frames, 128)."""
        rng = np.random.default_rng([self.faces.seed, 3, seed])
        rows = rng.integers(0, len(self.identities), count)
        return self.shopper_ids[rows], self.faces.photos(self.identities[rows], frames, rng)


def synthetic_gallery(
    size: int,
    *,
    seed: int,
    several_templates_share: float = 0.3,
    most_templates: int = 3,
    identity_scale: float = 1.0,
) -> SyntheticGallery:
    """`size` shoppers (ids 1..size); a share of them hold 2..`most_templates` templates, the rest one."""
    faces = SyntheticFaces(seed=seed, identity_scale=identity_scale)
    rng = np.random.default_rng([seed, 1])
    counts = np.ones(size, dtype=np.int64)
    several = rng.random(size) < several_templates_share
    counts[several] = rng.integers(2, most_templates + 1, int(several.sum()))
    identities = np.zeros((size, DIMENSIONS), dtype=np.float32)
    templates = np.zeros((int(counts.sum()), DIMENSIONS), dtype=np.float32)
    first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for start in range(0, size, 100_000):  # in slices: a million shoppers' photos at once would take gigabytes
        stop = min(start + 100_000, size)
        identities[start:stop] = faces.identities(stop - start, rng)
        owners = np.repeat(np.arange(start, stop), counts[start:stop])
        templates[first_row[start] : first_row[start] + len(owners)] = faces.photos(identities[owners], 1, rng)[:, 0]
    encodings = {row + 1: templates[first_row[row] : first_row[row] + counts[row]] for row in range(size)}
    return SyntheticGallery(faces=faces, identities=identities, encodings_by_shopper=encodings)
