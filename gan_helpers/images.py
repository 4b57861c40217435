"""One image: the crop, 16-bit values reduced to 8 bits, the preprocessing, reading from a folder or an archive.

The preprocessing follows the blog post the exercise comes from: crop a
fraction of the shorter side from every side (0.2 by default: the blog's 50
px of LFW's 250), resize with a bicubic filter to ``image_size`` and keep uint8
RGB; :func:`to_float` and :func:`to_uint8` convert to and from the models'
[-1, 1]. :mod:`gan_helpers.data` applies it to whole datasets and caches the
result.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import tarfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

# Pillow's warning about a very large image names no file; :func:`load_one` warns with the file's name instead.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning, module="PIL.Image")

#: The blog's crop as a fraction of the shorter side, cut from every side:
#: 0.2 of the 250x250 LFW image is the blog's 50 px, and any other size of face works too.
DEFAULT_CROP = 0.2



class CropTooLarge(ValueError):
    """The crop leaves (almost) nothing of the image: a setting to fix, not a bad file."""


class BadCropError(ValueError, argparse.ArgumentTypeError):
    """A crop that is neither a fraction in [0, 0.5) nor a whole number of pixels >= 0.

    It is a ``ValueError``; being an ``argparse.ArgumentTypeError`` as well lets
    ``type=parse_crop`` show this message on the command line.
    """


_CROP_RULE = ("a fraction of the shorter image side from 0 up to (not including) 0.5, "
              "given as a float (e.g. 0.2, the default), or a whole number of pixels >= 0, "
              "given as an int (e.g. 50)")


def check_crop(crop) -> int | float:
    """Check a crop setting and return it as ``float`` (a fraction) or ``int`` (pixels).

    The type says which it is:

    * a **float** in ``[0, 0.5)`` is a fraction of the image's shorter side,
      cut from every side: ``round(crop * min(width, height))`` pixels. The
      default 0.2 cuts 50 px of a 250x250 LFW image, 18 px of a 92x112 one.
    * an **int** ``>= 0`` is that many pixels from every side, whatever the size.

    Numpy numbers are accepted and returned as Python ones. ``True``/``False``
    are not crops. Raises ``ValueError`` (:class:`BadCropError`) otherwise.
    """
    if isinstance(crop, (bool, np.bool_)) or not isinstance(crop, (int, float, np.integer, np.floating)):
        raise BadCropError(f"crop must be {_CROP_RULE}. Received: crop={crop!r} of type {type(crop).__name__}")
    if isinstance(crop, (float, np.floating)):
        crop = float(crop)
        if not 0 <= crop < 0.5:
            hint = f" For {int(crop)} pixels give the int {int(crop)}." if crop >= 1 and crop.is_integer() else ""
            raise BadCropError(f"crop must be {_CROP_RULE}.{hint} Received: crop={crop}")
        return crop
    crop = int(crop)
    if crop < 0:
        raise BadCropError(f"crop must be {_CROP_RULE}. Received: crop={crop}")
    return crop


_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_crop(text: str) -> int | float:
    """Read a crop from the command line: ``--crop 0.2`` is a fraction, ``--crop 50`` is pixels.

    A whole number (``"50"``, ``"0"``) is pixels and comes back as ``int``; a
    number with a ``.`` or another number below 1 (``"0.2"``, ``".25"``,
    ``"1e-1"``) is a fraction of the shorter side and comes back as ``float``
    (see :func:`check_crop`). Anything else raises ``ValueError``
    (:class:`BadCropError`, also an ``argparse.ArgumentTypeError``, so it can be
    used directly as ``type=parse_crop``) with a message that names ``--crop``.
    """
    text = str(text).strip()
    rule = ("--crop must be a fraction of the shorter image side below 0.5, written with a '.' (e.g. 0.2, "
            "the default), or a whole number of pixels >= 0 (e.g. 50)")
    if _INTEGER.fullmatch(text):
        value: int | float = int(text)
    else:
        try:
            value = float(text)
        except ValueError:
            raise BadCropError(f"{rule}. Received: --crop {text!r}") from None
        if "." not in text and not value < 1:
            raise BadCropError(f"{rule}. Received: --crop {text}")
    try:
        return check_crop(value)
    except BadCropError:
        hint = f" For {int(value)} pixels write --crop {int(value)}." if (
            isinstance(value, float) and value >= 1 and value.is_integer()) else ""
        raise BadCropError(f"{rule}.{hint} Received: --crop {text}") from None


def crop_pixels(width: int, height: int, crop: int | float) -> int:
    """The pixels cut from every side of a ``width`` x ``height`` image (see :func:`check_crop`)."""
    crop = check_crop(crop)
    if isinstance(crop, float):
        return round(crop * min(width, height))
    return crop


def crop_box(width: int, height: int, crop: int | float) -> tuple[int, int, int, int]:
    """The square box left after removing the crop from every side.

    ``crop`` is a fraction of the shorter side (float) or pixels (int), see
    :func:`check_crop`. A non-square image is cut to its central square
    first, so faces keep their proportions.
    """
    pixels = crop_pixels(width, height, crop)
    side = min(width, height) - 2 * pixels
    if side < 8:
        what = f"crop={crop} ({pixels} px)" if isinstance(crop, float) else f"crop={crop} px"
        raise CropTooLarge(
            f"{what} from every side leaves {side} px of a {width}x{height} image; "
            "use a smaller crop (0 keeps the whole image)."
        )
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def to_8_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grayscale image (mode "I;16..." or "I") as 8-bit "L"; other images unchanged.

    Pillow's own conversion clips such values at 255, which turns nearly every
    pixel white. Here each value keeps its high byte (``value >> 8``), the
    same reduction Pillow applies when it opens a 16-bit colour PNG as "RGB",
    so 16-bit gray and colour files of the same picture agree. ("I" is what
    Pillow makes of 16-bit PGM files, already scaled to 0..65535.)
    """
    if image.mode == "I" or image.mode.startswith("I;16"):
        values = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        return Image.fromarray((values >> 8).astype(np.uint8))
    return image


#: The EXIF tag that says how a camera held the photo.
EXIF_ORIENTATION = 0x0112


def upright(image: Image.Image) -> Image.Image:
    """``image`` as it is meant to be seen: turned by its EXIF orientation (a phone's portrait photo is
    stored sideways with a tag that says so); unchanged when it has none."""
    from PIL import ImageOps

    try:
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except (AttributeError, OSError, SyntaxError, ValueError):  # no or unreadable EXIF: as stored
        return image
    return image if orientation in (1, None) else ImageOps.exif_transpose(image)


def preprocess_image(image: Image.Image, image_size: int = 64, crop: int | float = DEFAULT_CROP) -> np.ndarray:
    """Crop and resize one opened PIL image to uint8 RGB ``(S, S, 3)``.

    For JPEG files the decoder is asked for a reduced-size version first
    (draft mode: decoding at 1/2, 1/4 or 1/8 of the size costs a fraction
    of a full decode) that is still at least as large as the final crop
    needs, so the quality is that of a bicubic resize from a larger image.
    """
    image = upright(image)
    full_w, full_h = image.size
    box = crop_box(full_w, full_h, crop)
    side = box[2] - box[0]
    if image.format == "JPEG":
        # Ask for the smallest decode whose crop is still >= image_size pixels.
        need = math.ceil(image_size * full_w / side), math.ceil(image_size * full_h / side)
        image.draft("RGB", need)
    scale = image.size[0] / full_w
    image = to_8_bit(image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    scaled_box = tuple(v * scale for v in box)
    out = image.resize((image_size, image_size), Image.Resampling.BICUBIC, box=scaled_box)
    return np.asarray(out, dtype=np.uint8)


def load_one(read, relpath: str, image_size: int, crop: int | float):
    """Return (array, None) or (None, the exception) for one file."""
    try:
        with Image.open(read(relpath)) as image:
            if image.width * image.height > (Image.MAX_IMAGE_PIXELS or math.inf):
                warnings.warn(f"{relpath} is {image.width}x{image.height} pixels, more than Pillow's limit of "
                              f"{Image.MAX_IMAGE_PIXELS:,} (a decompression bomb?): it is decoded all the same; "
                              "remove it if it is not a face photograph.", stacklevel=2)
            return preprocess_image(image, image_size, crop), None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return None, error


def open_image(source: str | os.PathLike, relpath: str) -> Image.Image:
    """Open one image of a dataset folder or archive as a PIL image (not yet decoded)."""
    source = Path(source)
    if source.is_file():
        with tarfile.open(source, "r:*") as tar:
            return Image.open(io.BytesIO(tar.extractfile(relpath).read()))
    return Image.open(source / relpath)


def read_image(source: str | os.PathLike, relpath: str, image_size: int | None = None,
               crop: int | float = DEFAULT_CROP) -> np.ndarray:
    """One image as uint8 RGB: as stored (``image_size=None``, 16-bit reduced to 8) or preprocessed like the cache."""
    with open_image(source, relpath) as image:
        if image_size is None:
            return np.asarray(to_8_bit(upright(image)).convert("RGB"))
        return preprocess_image(image, image_size, crop)


def to_float(images) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (numpy)."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
    """float [-1, 1] -> uint8 [0, 255] (numpy), clipping out-of-range values; uint8 images are returned as
    they are."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
