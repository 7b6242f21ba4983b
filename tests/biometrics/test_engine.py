"""The face engine on real photos and on every kind of bad input (no Django needed)."""

import io
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from unittest import mock

import cv2
import face_recognition
import numpy as np
import pytest
from PIL import Image, ImageFile

from biometrics import engine
from tests.biometrics.photos import astronaut_array, astronaut_jpeg, encode, faces_dir, kit_photo
from tests.photo_corpus import BY_NAME, png_sixteen_bit

SETTINGS = engine.EngineSettings()


def refusal(data: bytes) -> str:
    with pytest.raises(engine.FaceRefused) as raised:
        engine.analyse_for_enrollment(data, SETTINGS)
    return raised.value.code


@pytest.mark.requirement("E1")
class TestAccepted:
    def test_one_real_face_gives_128_numbers(self):
        result = engine.analyse_for_enrollment(astronaut_jpeg(), SETTINGS)
        assert result.encoding.shape == (128,) and result.encoding.dtype == np.float64
        assert result.quality.face_px >= SETTINGS.min_face_px

    @pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
    def test_png_and_webp(self, fmt):
        assert engine.analyse_for_enrollment(encode(astronaut_array(), fmt), SETTINGS).encoding.shape == (128,)

    def test_grayscale(self):
        grey = cv2.cvtColor(astronaut_array(), cv2.COLOR_RGB2GRAY)
        assert engine.analyse_for_enrollment(encode(grey, "PNG"), SETTINGS).encoding.shape == (128,)

    def test_sixteen_bit(self):
        grey = cv2.cvtColor(astronaut_array(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
        buffer = io.BytesIO()
        Image.fromarray(grey).save(buffer, format="PNG")
        image = Image.open(io.BytesIO(buffer.getvalue()))
        assert image.mode.startswith("I")
        assert engine.analyse_for_enrollment(buffer.getvalue(), SETTINGS).encoding.shape == (128,)

    def test_rgba_from_the_kit(self):
        data = kit_photo("edge/rgba_32bit.png")
        assert Image.open(io.BytesIO(data)).mode == "RGBA"
        assert engine.analyse_for_enrollment(data, SETTINGS).encoding.shape == (128,)

    def test_exif_orientation_is_applied(self):
        # Stored sideways, with the EXIF tag saying "turn me": only an upright face is found.
        sideways = np.ascontiguousarray(np.rot90(astronaut_array(), k=1))
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to display
        data = encode(sideways, "JPEG", quality=95, exif=exif.tobytes())
        assert engine.decode_image(data).shape[:2] == astronaut_array().shape[:2]
        assert engine.analyse_for_enrollment(data, SETTINGS).encoding.shape == (128,)

    def test_detects_once_and_encodes_from_that_location(self):
        with (
            mock.patch.object(face_recognition, "face_locations", wraps=face_recognition.face_locations) as spy,
            mock.patch.object(face_recognition, "face_encodings", wraps=face_recognition.face_encodings) as encode_spy,
        ):
            engine.analyse_for_enrollment(astronaut_jpeg(), SETTINGS)
        assert spy.call_count == 1
        assert encode_spy.call_count == 1
        assert encode_spy.call_args.kwargs["known_face_locations"]

    def test_the_encoding_matches_stock_face_recognition(self):
        image = astronaut_array()
        ours = engine.analyse_for_enrollment(encode(image, "PNG"), SETTINGS).encoding
        stock = face_recognition.face_encodings(image)[0]
        assert engine.face_distance(stock, ours)[0] < 0.1


# Pillow warns of each EXIF entry it cannot read, and skips it.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
class TestExif:
    """Only the EXIF orientation counts; nothing else in the EXIF can stop a photo being read."""

    UPRIGHT = astronaut_array().shape

    def test_a_tag_of_an_unexpected_type_is_no_fault(self):
        # Pillow's exif_transpose writes the whole EXIF anew once it has turned the photo, and that
        # failed on a camera make stored as a fraction (AttributeError: a crash, not a refusal).
        data = BY_NAME["jpeg-exif-tag-of-the-wrong-type"].make()
        assert engine.decode_photo(data, SETTINGS).pixels.shape == self.UPRIGHT  # stored sideways, orientation 6

    @pytest.mark.parametrize("name", ["jpeg-exif-64-kb", "webp-exif-9-mb", "png-exif-65535-entries"])
    def test_a_large_exif_is_read_for_its_orientation_alone(self, name):
        # Writing anew 9 MB of EXIF, or 65,535 entries, took a worker 2.5 to 4 s and hundreds of megabytes.
        with mock.patch.object(Image.Exif, "tobytes", side_effect=AssertionError("wrote the EXIF anew")):
            photo = engine.decode_photo(BY_NAME[name].make(), SETTINGS)
        assert photo.pixels.shape == self.UPRIGHT

    @pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
    def test_exif_that_is_not_exif_turns_nothing(self, fmt):
        # Pillow ignores it in a JPEG; in a PNG or a WebP it made the photo unreadable_image.
        data = encode(astronaut_array(), fmt, exif=b"Exif\0\0XX*\0" + b"\0" * 20)
        assert engine.decode_photo(data, SETTINGS).pixels.shape == self.UPRIGHT


def enlarged(array: np.ndarray, times: int) -> np.ndarray:
    """Each pixel made a square of times x times pixels: a huge photo that compresses small."""
    return cv2.resize(array, None, fx=times, fy=times, interpolation=cv2.INTER_NEAREST)


@pytest.fixture
def engine_spies():
    """What the detector and the encoder are handed (face_recognition's functions, wrapped)."""
    with (
        mock.patch.object(face_recognition, "face_locations", wraps=face_recognition.face_locations) as locate,
        mock.patch.object(face_recognition, "face_encodings", wraps=face_recognition.face_encodings) as encode,
    ):
        yield locate, encode


def sides_handed_over(*spies) -> list[int]:
    return [max(call.args[0].shape[:2]) for spy in spies for call in spy.call_args_list]


class TestLargePhotos:
    """Pixels beyond what the engine needs cost a worker seconds per photo (a 38 MP PNG) and change
    nothing it computes: the photo is reduced as it is decoded, before detection and encoding."""

    @pytest.mark.requirement("E1")
    def test_enrollment_works_on_a_bounded_copy(self, engine_spies):
        small = astronaut_array()
        data = encode(enlarged(small, 16), "PNG")  # 8192 x 4096: 33.5 MP in half a megabyte
        assert Image.open(io.BytesIO(data)).size == (8192, 4096) and len(data) < SETTINGS.max_bytes

        result = engine.analyse_for_enrollment(data, SETTINGS)

        assert engine_spies[0].called and engine_spies[1].called
        assert max(sides_handed_over(*engine_spies)) <= SETTINGS.work_max_side
        as_small = engine.analyse_for_enrollment(encode(small, "PNG"), SETTINGS)
        assert engine.face_distance(as_small.encoding, result.encoding)[0] < 0.1
        # The face's size is the photo's own (boxes found at different scales differ by a few per cent):
        # the minimum face size means what it always meant.
        assert result.quality.face_px == pytest.approx(16 * as_small.quality.face_px, rel=0.1)

    def test_the_door_works_on_a_bounded_copy(self, engine_spies):
        data = encode(enlarged(astronaut_array(), 16), "PNG")

        probe = engine.probe_encoding(data, SETTINGS)

        assert max(sides_handed_over(*engine_spies)) <= SETTINGS.work_max_side
        assert engine.face_distance(engine.probe_encoding(astronaut_jpeg(), SETTINGS), probe)[0] < 0.1

    def test_a_large_jpeg_is_decoded_at_a_fraction_and_stays_upright(self):
        sideways = np.ascontiguousarray(np.rot90(enlarged(astronaut_array(), 12), k=1))  # 3072 x 6144 stored
        exif = Image.Exif()
        exif[0x0112] = 6
        data = encode(sideways, "JPEG", quality=90, exif=exif.tobytes())

        photo = engine.decode_photo(data, SETTINGS)

        assert photo.pixels.shape == (1024, 2048, 3)  # upright, longest side at the working size
        assert photo.scale == pytest.approx(2048 / 6144) and photo.photo_short_side == 3072
        assert engine.analyse_for_enrollment(data, SETTINGS).encoding.shape == (128,)

    def test_a_sixteen_bit_grey_photo_is_reduced_like_any_other(self):
        # Pillow reduces no 16-bit image by whole factors ("image has wrong mode"): this was refused
        # as unreadable_image once it was at least twice the working size.
        grey = cv2.cvtColor(astronaut_array(), cv2.COLOR_RGB2GRAY)
        large = BY_NAME["png-16-bit-grey-5120x2560"].make()
        assert Image.open(io.BytesIO(large)).mode == "I;16" and Image.open(io.BytesIO(large)).size == (5120, 2560)

        photo = engine.decode_photo(large, SETTINGS)

        assert photo.pixels.shape == (1024, 2048, 3) and photo.scale == pytest.approx(0.4)
        as_eight_bits = engine.analyse_for_enrollment(encode(grey, "PNG"), SETTINGS).encoding
        assert engine.face_distance(as_eight_bits, engine.analyse_for_enrollment(large, SETTINGS).encoding)[0] < 0.1

    def test_a_photo_within_the_working_size_is_not_resampled(self):
        image = astronaut_array()
        assert np.array_equal(engine.decode_image(encode(image, "PNG"), SETTINGS), image)


# Four threads detect faces at once, each in a picture of its own size, as a match worker's threads do.
DETECTING_AT_ONCE = textwrap.dedent(
    """
    import threading
    import cv2, numpy as np
    from skimage import data
    from biometrics import engine

    face = data.astronaut()[:256]
    pictures = [face, np.full((256, 512, 3), 200, np.uint8), cv2.resize(face, (1024, 512)), face[:, 64:448]]
    expected = [engine.locate_faces(picture) for picture in pictures]
    different = []

    def detect(index):
        for _ in range(10):
            if engine.locate_faces(pictures[index]) != expected[index]:
                different.append(index)

    threads = [threading.Thread(target=detect, args=(index,)) for index in range(len(pictures))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("different:", len(different))
    """
)


def test_threads_detect_faces_at_once_safely():
    """On face_recognition's one detector per process this crashed (double free, segmentation fault)
    nearly every time; it runs in its own process so that a crash fails this test, not the suite."""
    done = subprocess.run(
        [sys.executable, "-c", DETECTING_AT_ONCE],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "different: 0"), done.stderr[-2000:]


@pytest.mark.requirement("E1")
class TestRefused:
    @pytest.mark.parametrize("name", ["kit_with_rose.jpg", "obama_and_biden.jpg", "two_people.jpg"])
    def test_every_multi_face_photo(self, name):
        assert refusal(kit_photo(f"multi/{name}")) == "several_faces"

    def test_blank(self):
        assert refusal(encode(np.full((400, 400, 3), 255, np.uint8), "PNG")) == "no_face"

    def test_noise(self):
        noise = np.random.default_rng(7).integers(0, 256, (400, 400, 3), dtype=np.uint8)
        assert refusal(encode(noise, "PNG")) == "no_face"

    def test_truncated_jpeg(self):
        data = astronaut_jpeg()
        assert refusal(data[: len(data) // 2]) == "unreadable_image"

    def test_text_file_named_jpg(self):
        assert refusal(b"this is not a picture, whatever its name says\n" * 20) == "unreadable_image"

    def test_empty_file(self):
        assert refusal(b"") == "unreadable_image"

    def test_gif_is_not_accepted(self):
        assert refusal(encode(astronaut_array(), "GIF")) == "unreadable_image"

    def test_decompression_bomb_is_refused_from_its_header(self):
        # 20000 x 20000 pixels: a small file that would decode to 400 million pixels.
        buffer = io.BytesIO()
        Image.new("1", (20000, 20000), 1).save(buffer, format="PNG")
        data = buffer.getvalue()
        assert len(data) < SETTINGS.max_bytes
        with mock.patch.object(Image.Image, "load", side_effect=AssertionError("decoded a bomb")):
            assert refusal(data) == "image_too_large"

    def test_a_png_of_deep_samples_is_refused_from_its_header(self):
        # 38 MP of 16-bit RGBA, interlaced: 1.3 MB that took 2.6 to 3.3 s of a worker to decode, past the
        # door's timeout, within the pixel limit. The limit now holds a PNG to the bytes its pixels decode to.
        data = BY_NAME["png-38-megapixels-16-bit-rgba-interlaced"].make()
        assert len(data) < SETTINGS.max_bytes and Image.open(io.BytesIO(data)).size == (7000, 5400)
        with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("decoded it")):
            assert refusal(data) == "image_too_large"

    @pytest.mark.parametrize(
        ("samples", "refused"),
        [("RGB", False), ("RGBA", True), ("L;16", False), ("LA", False), ("RGB;16", True), ("RGBA;16", True)],
    )
    def test_the_pixel_limit_counts_eight_bit_rgb_pixels_of_a_png(self, samples, refused):
        # 40 x 40 pixels against a limit of 1,600: 4,800 bytes of samples at most.
        limit = replace(SETTINGS, max_pixels=1600, min_face_px=1)
        pixels = np.full((40, 40, 4), 128, np.uint8)
        data = {
            "RGB": lambda: encode(pixels[..., :3], "PNG"),
            "RGBA": lambda: encode(pixels, "PNG"),
            "L;16": lambda: png_sixteen_bit(pixels[..., 0], colour=0),
            "LA": lambda: encode(pixels[..., :2], "PNG"),
            "RGB;16": lambda: png_sixteen_bit(pixels[..., :3], colour=2),
            "RGBA;16": lambda: png_sixteen_bit(pixels, colour=6),
        }[samples]()
        if refused:
            with pytest.raises(engine.FaceRefused) as raised:
                engine.decode_photo(data, limit)
            assert raised.value.code == "image_too_large"
        else:
            assert engine.decode_photo(data, limit).pixels.shape == (40, 40, 3)

    def test_too_many_bytes(self):
        assert refusal(b"\xff\xd8\xff" + b"\0" * (SETTINGS.max_bytes + 1)) == "image_too_large"

    def test_tiny_image(self):
        exif = Image.Exif()
        exif[0x010E] = "x" * 3500  # padding: a 4 KB file of 10 x 10 pixels
        data = encode(np.full((10, 10, 3), 128, np.uint8), "JPEG", exif=exif.tobytes())
        assert 3500 < len(data) < 5000
        assert refusal(data) == "face_too_small"

    def test_small_face(self):
        assert refusal(kit_photo("obama/obama_240p.jpg")) == "face_too_small"

    def test_blurred(self):
        blurred = cv2.GaussianBlur(astronaut_array(), (0, 0), 3)  # about 3% of the face's size
        assert refusal(encode(blurred, "PNG")) == "too_blurred"

    def test_dark(self):
        dark = (astronaut_array() * 0.2).astype(np.uint8)
        assert refusal(encode(dark, "PNG")) == "too_dark"


@pytest.mark.requirement("E1")
class TestFaceKit:
    def test_every_single_face_photo_enrolls_and_matches_its_person(self):
        import csv

        rows = list(csv.DictReader((faces_dir() / "LABELS.csv").open()))
        singles = [row for row in rows if row["faces_found"] == "1" and int(row["largest_face_px"]) >= 80]
        encodings = {
            row["path"]: engine.analyse_for_enrollment(kit_photo(row["path"]), SETTINGS).encoding for row in singles
        }
        person = {row["path"]: "obama" if row["identity"] == "edge" else row["identity"] for row in singles}
        for first, a in encodings.items():
            for second, b in encodings.items():
                if first < second:
                    same = person[first] == person[second]
                    distance = engine.face_distance(a, b)[0]
                    assert (distance <= 0.6) == same, (first, second, distance)

    def test_a_kit_photo_enlarged_to_38_megapixels_is_still_its_person(self):
        photo = kit_photo("obama/obama_1.jpg")  # 910 x 1137
        large = encode(enlarged(np.asarray(Image.open(io.BytesIO(photo)).convert("RGB")), 6), "PNG")
        assert Image.open(io.BytesIO(large)).size == (5460, 6822) and len(large) < SETTINGS.max_bytes
        other = engine.analyse_for_enrollment(kit_photo("obama/obama_2.jpg"), SETTINGS).encoding
        stranger = engine.analyse_for_enrollment(kit_photo("biden/biden_2.jpg"), SETTINGS).encoding

        enrolled = engine.analyse_for_enrollment(large, SETTINGS).encoding
        probe = engine.probe_encoding(large, SETTINGS)

        for encoding in (enrolled, probe):
            assert engine.face_distance(engine.analyse_for_enrollment(photo, SETTINGS).encoding, encoding)[0] < 0.1
            assert engine.face_distance(other, encoding)[0] <= 0.55 < engine.face_distance(stranger, encoding)[0]
