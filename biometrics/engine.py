"""The face engine: safe image decoding, detection, a quality gate and the 128-number encoding.

Plain Python (no Django), so it can be tested, benchmarked and reused on its own. A photo is
decoded straight to a working copy of at most `work_max_side` pixels on its longest side (more
pixels cost seconds and change nothing the engine computes); faces are found with
face_recognition's HOG detector on a further reduced copy, then encoded once from the working
copy at that location, so no photo is ever searched twice. Its refusal codes and messages live in
`biometrics.faces`, which web processes use without loading dlib or OpenCV; only workers import this.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass, field, replace

import cv2
import dlib
import face_recognition
import face_recognition.api
import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from biometrics.faces import FaceRefused as FaceRefused  # re-exported: what the engine raises
from biometrics.faces import refuse

# face_recognition switches Pillow to padding truncated files with grey on import; a cut-off
# upload must be refused as unreadable instead.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class _DetectorPerThread:
    """dlib's HOG face detector keeps its working buffers in the detector and lets go of the GIL
    while it scans, so two threads on face_recognition's one detector for the whole process corrupt
    memory: a match worker's thread pool crashed with two photos at once. One detector per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, image: np.ndarray, upsample: int = 0):
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = dlib.get_frontal_face_detector()
        return detector(image, upsample)


face_recognition.api.face_detector = _DetectorPerThread()

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})


@dataclass(frozen=True)
class EngineSettings:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    # A larger photo is reduced to this (longest side) as it is decoded, and everything after
    # decoding works on that copy: a face the detector finds at detect_max_side is 3.2 times as
    # large here, more than the 150 px chip it is encoded from needs (docs/decisions/0005).
    work_max_side: int = 2048
    # Detection runs on a copy whose longest side is at most this.
    detect_max_side: int = 640
    detect_upsample: int = 1
    min_face_px: int = 80
    # Measured on ../shared/faces (docs/decisions/0005): sharp faces score 30 and up, blurred ones 9 or less.
    min_sharpness: float = 15.0
    # Real faces average 103 or brighter; the same photos at a fifth of the light, 30 or less.
    min_brightness: float = 50.0


@dataclass(frozen=True)
class FaceLocation:
    top: int
    right: int
    bottom: int
    left: int

    @property
    def size(self) -> int:
        return min(self.bottom - self.top, self.right - self.left)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)


@dataclass(frozen=True)
class Quality:
    face_px: int
    sharpness: float
    brightness: float


@dataclass(frozen=True)
class FaceResult:
    encoding: np.ndarray = field(repr=False)
    location: FaceLocation  # in the working copy's pixels
    quality: Quality


@dataclass(frozen=True)
class WorkingImage:
    """A decoded photo as the engine works on it: RGB uint8, upright, at most `work_max_side`."""

    pixels: np.ndarray = field(repr=False)
    # The photo's own shorter side, and working pixels per photo pixel (1.0: not reduced).
    photo_short_side: int
    scale: float


def decode_image(data: bytes, settings: EngineSettings = EngineSettings()) -> np.ndarray:
    """Bytes to the working copy's RGB uint8 array (see `decode_photo`)."""
    return decode_photo(data, settings).pixels


def decode_photo(data: bytes, settings: EngineSettings = EngineSettings()) -> WorkingImage:
    """Bytes to the working copy, upright, refusing anything unsafe or unreadable.

    The pixel count (and a PNG's bytes of samples) is checked from the header before any pixel is
    decoded, so a small file that would expand to gigabytes (a decompression bomb) is refused
    without decoding it. A JPEG larger than the working size is decoded at a half, a quarter or an
    eighth of its size (the decoder's own scaling, still at least the working size); a PNG or WebP
    cannot be, so it is decoded whole (about 0.35 s of processor time at 38 MP), then reduced before
    any other step touches it.
    """
    if len(data) > settings.max_bytes:
        raise refuse("image_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise refuse("unreadable_image")
            width, height = image.size
            if width * height > settings.max_pixels or _png_sample_bytes(image) > 3 * settings.max_pixels:
                raise refuse("image_too_large")
            scale = min(1.0, settings.work_max_side / max(width, height))
            image = _reduced(image, (max(1, round(width * scale)), max(1, round(height * scale))))
            image = _upright(image)
            return WorkingImage(pixels=_to_rgb(image), photo_short_side=min(width, height), scale=scale)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise refuse("image_too_large") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise refuse("unreadable_image") from error


def _png_sample_bytes(image: Image.Image) -> int:
    """The bytes of samples a PNG's decoder works through (0 for other formats).

    The pixel limit counts 8-bit RGB pixels, 3 bytes each. A JPEG is decoded at a fraction and a WebP
    is 8-bit, but a PNG is decoded whole, and its decoder's time grows with its bytes: a 38 MP PNG of
    16-bit RGBA (8 bytes a pixel) took 2.6 to 3.3 s of processor time, past the door's timeout.
    """
    if image.format != "PNG" or not image.tile:
        return 0
    sample_bytes = 2 if ";16" in str(image.tile[0].args) else 1  # Pillow's raw mode: "RGBA;16B"
    return image.width * image.height * len(image.getbands()) * sample_bytes


def _reduced(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The image loaded and, when larger, resized to `size`: box-averaged by the largest whole factor,
    then resized bicubically the rest of the way (less than twice; 0.14 s at 38 MP where a bicubic
    resize of the whole way took 0.49 s, for the same encodings)."""
    if image.size == size:
        image.load()
        return image
    image.draft(None, size)  # JPEG only; never below `size`
    image.load()
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")  # Pillow cannot box-average 16-bit samples ("image has wrong mode")
    elif image.mode in ("P", "PA"):
        # Palette images would be resized by nearest neighbour; give them their colours first.
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0)  # keeps `info`: the EXIF orientation


# What each EXIF orientation asks for, to show the photo upright.
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as stored when there is none.

    Only the orientation is taken from the EXIF. Pillow's exif_transpose also writes the whole EXIF
    anew, which crashed on a tag of an unexpected type and took seconds on a 9 MB one; and EXIF that
    is not EXIF at all (no TIFF header) turns nothing, as Pillow already treats it in a JPEG.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except SyntaxError:  # "not a TIFF file"
        return image
    turn = _TURNS.get(orientation)
    return image if turn is None else image.transpose(turn)


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit integer) greyscale: scale the range down to 8 bits.
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        grey = np.clip(values / top * 255.0, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white rather than whatever colour their pixels hold.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def locate_faces(
    image: np.ndarray, settings: EngineSettings = EngineSettings(), *, upsample: int | None = None
) -> list[FaceLocation]:
    """Find faces on a reduced copy and give their boxes in the pixels of `image`."""
    height, width = image.shape[:2]
    scale = min(1.0, settings.detect_max_side / max(height, width))
    small = (
        np.ascontiguousarray(image)  # dlib misread a strided view when other threads detected at once
        if scale == 1.0
        else cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
    )
    times = settings.detect_upsample if upsample is None else upsample
    found = face_recognition.face_locations(small, number_of_times_to_upsample=times, model="hog")
    locations = []
    for top, right, bottom, left in found:
        locations.append(
            FaceLocation(
                top=max(0, round(top / scale)),
                right=min(width, round(right / scale)),
                bottom=min(height, round(bottom / scale)),
                left=max(0, round(left / scale)),
            )
        )
    return locations


def measure_quality(image: np.ndarray, location: FaceLocation, *, scale: float = 1.0) -> Quality:
    """Sharpness (variance of the Laplacian) and brightness (mean grey) of the face, at a fixed size;
    its size in the photo's own pixels (`scale`: working pixels per photo pixel)."""
    crop = image[location.top : location.bottom, location.left : location.right]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (160, 160), interpolation=cv2.INTER_AREA)
    return Quality(
        face_px=round(location.size / scale),
        sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness=float(grey.mean()),
    )


def encode_face(image: np.ndarray, location: FaceLocation) -> np.ndarray:
    """The 128-number encoding of the face at `location` (no detection here)."""
    encodings = face_recognition.face_encodings(image, known_face_locations=[location.as_tuple()], num_jitters=1)
    return np.asarray(encodings[0], dtype=np.float64)


def analyse_for_enrollment(data: bytes, settings: EngineSettings = EngineSettings()) -> FaceResult:
    """One photo to one encoding, or a FaceRefused naming the first reason it cannot be used."""
    photo = decode_photo(data, settings)
    if photo.photo_short_side < settings.min_face_px:
        raise refuse("face_too_small")
    image = photo.pixels
    locations = locate_faces(image, settings)
    if not locations:
        raise refuse("no_face")
    if len(locations) > 1:
        raise refuse("several_faces")
    location = locations[0]
    quality = measure_quality(image, location, scale=photo.scale)
    if quality.face_px < settings.min_face_px:
        raise refuse("face_too_small")
    if quality.brightness < settings.min_brightness:
        raise refuse("too_dark")
    if quality.sharpness < settings.min_sharpness:
        raise refuse("too_blurred")
    return FaceResult(encoding=encode_face(image, location), location=location, quality=quality)


def door_face(locations: list[FaceLocation], width: int, height: int) -> FaceLocation:
    """The face the door is about: the largest; of faces within 20% of that size (detectors differ by
    that much from one pass to another), the one nearest the middle of the frame."""

    def area(location: FaceLocation) -> int:
        return (location.bottom - location.top) * (location.right - location.left)

    def off_centre(location: FaceLocation) -> float:
        middle_x, middle_y = (location.left + location.right) / 2, (location.top + location.bottom) / 2
        return (middle_x - width / 2) ** 2 + (middle_y - height / 2) ** 2

    largest = max(map(area, locations))
    return min((location for location in locations if area(location) >= 0.8 * largest), key=off_centre)


def probe_encoding(data: bytes, settings: EngineSettings = EngineSettings()) -> np.ndarray | None:
    """The encoding of the door's face in a photo, or None when there is no face.

    A face walking through the door is usually large: a quick pass without upsampling finds it
    at a quarter of the cost; only when it finds nothing does the full pass run.
    """
    image = decode_image(data, settings)
    locations = locate_faces(image, settings, upsample=0) or locate_faces(image, settings)
    if not locations:
        return None
    height, width = image.shape[:2]
    if len(locations) > 1:
        # Several people in the frame: which one is at the door is judged on the working copy's boxes.
        locations = locate_faces(image, replace(settings, detect_max_side=max(height, width))) or locations
    return encode_face(image, door_face(locations, width, height))


def face_distance(known: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Euclidean distances from one probe to each known encoding (face_recognition's measure)."""
    known = np.atleast_2d(known)
    return np.linalg.norm(known - probe, axis=1)
