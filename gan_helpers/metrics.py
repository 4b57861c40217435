"""Quality of generated faces, measured without downloading anything.

- **SWD** (sliced Wasserstein distance, as in ProGAN): compares the
  distributions of small patches at several scales of a Laplacian pyramid.
  Lower is better; two disjoint halves of the real data give the floor.
- **Face rate**: the fraction of images in which OpenCV's Haar frontal-face
  cascade finds a face (it also fires on blurry average faces, hence:)
- **Diversity**: how much the images differ from each other, relative to
  real faces (near 0 means mode collapse).
- **Nearest-neighbour distance** to the training images, relative to that
  of unseen real faces (near 0 means memorisation).
- **D's success** on given real and fake images, judged in inference or in
  training mode (:func:`discriminator_success`): how the failures of D show
  (a batch-norm D that only works in training mode, a D that knows its
  training faces better than unseen ones).

All functions take uint8 ``(N, S, S, 3)`` images or floats in [-1, 1].
"""

from __future__ import annotations

import numpy as np

from gan_helpers.images import to_uint8

# ----------------------------------------------------------------------------
# Sliced Wasserstein distance (after tkarras/progressive_growing_of_gans,
# metrics/sliced_wasserstein.py).

_BINOMIAL = np.array([1, 4, 6, 4, 1], np.float32) / 16


def _blur(images):
    """Separable 5x5 binomial filter with reflected borders, over axes 1 and 2."""
    from scipy.ndimage import convolve1d

    out = convolve1d(images, _BINOMIAL, axis=1, mode="reflect")
    return convolve1d(out, _BINOMIAL, axis=2, mode="reflect")


def laplacian_pyramid(images, min_size: int = 16) -> list[np.ndarray]:
    """Band-pass levels from full size down to ``min_size`` (the last is the low-pass image)."""
    current = np.asarray(images, np.float32)
    levels = []
    while current.shape[1] > min_size:
        down = _blur(current)[:, ::2, ::2]
        up = np.zeros_like(current)
        up[:, ::2, ::2] = down
        up = _blur(up) * 4  # a zero-stuffed upsample loses 3/4 of the mass
        levels.append(current - up)
        current = down
    levels.append(current)
    return levels


def _patches(level, rng, per_image: int, size: int = 7):
    n, h, w, c = level.shape
    ys = rng.integers(0, h - size + 1, (n, per_image))
    xs = rng.integers(0, w - size + 1, (n, per_image))
    offsets = np.arange(size)
    rows = (ys[..., None, None] + offsets[:, None])  # (n, p, size, 1)
    cols = (xs[..., None, None] + offsets[None, :])  # (n, p, 1, size)
    batch = np.arange(n)[:, None, None, None]
    return level[batch, rows, cols].reshape(n * per_image, size, size, c)


def _normalise(descriptors):
    descriptors = descriptors - descriptors.mean(axis=(0, 1, 2), keepdims=True)
    std = descriptors.std(axis=(0, 1, 2), keepdims=True)
    return (descriptors / np.maximum(std, 1e-8)).reshape(len(descriptors), -1).astype(np.float32)


def sliced_wasserstein(a, b, rng, repeats: int = 4, directions: int = 128) -> float:
    """Mean over random unit directions of the 1-D Wasserstein distance of the projections."""
    results = []
    for _ in range(repeats):
        dirs = rng.normal(size=(a.shape[1], directions)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        # Sort each direction's projections along a contiguous axis (much faster than axis 0).
        pa, pb = np.sort((a @ dirs).T, axis=1), np.sort((b @ dirs).T, axis=1)
        results.append(np.abs(pa - pb).mean())
    return float(np.mean(results))


def swd(images_a, images_b, seed: int = 0, patches_per_image: int = 128, min_size: int = 16) -> dict:
    """SWD x 1e3 per pyramid level and averaged (``"avg"``), as ProGAN reports it.

    Both sets must have the same number of images (the 1-D distances compare
    sorted projections element by element).
    """
    a, b = to_uint8(images_a), to_uint8(images_b)
    if len(a) != len(b):
        raise ValueError(f"SWD needs sets of equal size. Received: {len(a)} and {len(b)} images")
    rng = np.random.default_rng(seed)
    result = {}
    for level_a, level_b in zip(laplacian_pyramid(a / 255.0, min_size), laplacian_pyramid(b / 255.0, min_size)):
        da = _normalise(_patches(level_a, rng, patches_per_image))
        db = _normalise(_patches(level_b, rng, patches_per_image))
        result[str(level_a.shape[1])] = 1e3 * sliced_wasserstein(da, db, rng)
    result["avg"] = float(np.mean(list(result.values())))
    return result


# ----------------------------------------------------------------------------
# Face detection, diversity, memorisation.

_CASCADE = None


def _cascade():
    global _CASCADE
    if _CASCADE is None:
        import cv2

        _CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if _CASCADE.empty():
            raise RuntimeError("OpenCV's Haar face cascade could not be loaded; install opencv-python-headless<5.")
    return _CASCADE


def face_rate(images, upscale: int = 2) -> float:
    """Fraction of images in which the Haar frontal-face cascade finds at least one face."""
    import cv2

    cascade = _cascade()
    found = 0
    images = to_uint8(images)
    for image in images:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if upscale > 1:
            gray = cv2.resize(gray, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        side = gray.shape[0]
        faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=3, minSize=(side // 3, side // 3))
        found += len(faces) > 0
    return found / max(len(images), 1)


def pixel_spread(images) -> float:
    """Mean over pixels of the standard deviation over images (in [0, 1] units)."""
    return float((to_uint8(images).astype(np.float32) / 255.0).std(axis=0).mean())


def _small(images, size: int = 32):
    """Images as float vectors at ``size`` x ``size`` (box-averaged), in [0, 1]."""
    x = to_uint8(images).astype(np.float32) / 255.0
    factor = x.shape[1] // size
    if factor > 1:
        n, s, _, c = x.shape
        x = x[:, :size * factor, :size * factor].reshape(n, size, factor, size, factor, c).mean(axis=(2, 4))
    return x.reshape(len(x), -1)


def mean_pairwise_distance(images, pairs: int = 2000, seed: int = 0) -> float:
    """RMS pixel distance between random pairs of different images."""
    x = _small(images)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), pairs)
    j = (i + rng.integers(1, len(x), pairs)) % len(x)
    return float(np.sqrt(((x[i] - x[j]) ** 2).mean(axis=1)).mean())


def nearest_neighbour_distance(images, reference) -> np.ndarray:
    """For each image, the RMS pixel distance (at 32x32) to its nearest reference image."""
    x, r = _small(images), _small(reference)
    squared = (x ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None, :] - 2 * x @ r.T
    return np.sqrt(np.maximum(squared.min(axis=1), 0) / x.shape[1])


#: The units of each metric in :func:`evaluate`'s result, stated in the result itself.
UNITS = {"swd": "x1e3 (ProGAN's sliced Wasserstein distance, multiplied by 1000)",
         "pixel_spread": "pixels in [0, 1]", "nn_distance": "RMS pixel distance at 32x32, pixels in [0, 1]",
         "face_rate": "fraction of images", "diversity_ratio": "generated / held-out real",
         "memorisation_ratio": "generated / held-out real (below 1: closer to training faces)"}


def evaluate(generated, real_train, real_holdout, seed: int = 0, with_faces: bool = True,
             progress: bool = False) -> dict:
    """All metrics of ``generated`` against real faces, with the real-vs-real references.

    ``real_train`` and ``real_holdout`` should be disjoint real sets (for
    example a split by person); the SWD floor compares them, and the
    memorisation ratio compares generated-to-train nearest-neighbour
    distances with holdout-to-train ones. ``progress`` shows a bar over the
    metrics. :data:`UNITS` says what the numbers are in.
    """
    from gan_helpers.progress import bar as tqdm

    n = min(len(generated), len(real_holdout))
    if n < 2:
        raise ValueError(f"evaluate needs at least 2 generated and 2 held-out images. Received: "
                         f"{len(generated)} generated, {len(real_holdout)} held out.")
    generated, holdout = to_uint8(generated)[:n], to_uint8(real_holdout)[:n]
    rng = np.random.default_rng(seed)
    train = to_uint8(real_train)
    train_sample = train[rng.choice(len(train), size=min(n, len(train)), replace=False)] if len(train) >= n else None
    bar = tqdm(total=5, desc="measuring", unit="metric", disable=not progress)
    bar.set_postfix_str("SWD")
    result = {"num_images": n, "swd": swd(generated, holdout, seed)["avg"]}
    bar.update()
    if train_sample is not None:
        result["swd_real_floor"] = swd(train_sample, holdout, seed)["avg"]
    bar.update()
    bar.set_postfix_str("face rate")
    if with_faces:
        result["face_rate"] = face_rate(generated)
        result["face_rate_real"] = face_rate(holdout)
    bar.update()
    bar.set_postfix_str("diversity")
    result["pixel_spread"] = pixel_spread(generated)
    result["pixel_spread_real"] = pixel_spread(holdout)
    result["diversity_ratio"] = mean_pairwise_distance(generated) / mean_pairwise_distance(holdout)
    bar.update()
    bar.set_postfix_str("memorisation")
    nn_generated = nearest_neighbour_distance(generated, train).mean()
    nn_holdout = nearest_neighbour_distance(holdout, train).mean()
    result["nn_distance"] = float(nn_generated)
    result["nn_distance_real"] = float(nn_holdout)
    result["memorisation_ratio"] = float(nn_generated / nn_holdout)
    bar.update()
    bar.close()
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}


# ----------------------------------------------------------------------------
# The discriminator's view.


def discriminator_success(discriminator, real=None, fake=None, training: bool = False,
                          batch_size: int = 64) -> dict:
    """The fraction of ``real`` images D calls real (logit > 0) and of ``fake`` images it calls fake.

    Images are judged in batches of ``batch_size`` of one kind, as in a
    training step. ``training=False`` (inference mode: dropout off, batch
    norm with its moving statistics) is how D judges one image on its own;
    ``training=True`` is how it judged them while it trained (batch norm
    with each batch's own statistics). Dropout layers are random in
    training mode, so that number varies from call to call. D is left as it
    was: batch norm's moving statistics, which a call in training mode
    updates, are put back afterwards.
    """
    from gan_helpers._quiet import import_tensorflow
    from gan_helpers.data import to_float

    tf = import_tensorflow()

    def called_real(images):
        images = np.asarray(images)
        x = to_float(images) if images.dtype == np.uint8 else images.astype(np.float32)
        logits = [np.asarray(discriminator(tf.constant(x[i:i + batch_size]), training=training)).reshape(-1)
                  for i in range(0, len(x), batch_size)]
        return np.concatenate(logits) > 0

    kept = [v.numpy() for v in discriminator.non_trainable_variables]
    try:
        result = {}
        if real is not None:
            result["real"] = float(called_real(real).mean())
        if fake is not None:
            result["fake"] = float(1.0 - called_real(fake).mean())
        return result
    finally:
        for variable, value in zip(discriminator.non_trainable_variables, kept):
            variable.assign(value)



def describe(result: dict, width: int = 96, indent: str = "  ") -> str:
    """A result of :func:`evaluate` as ``name value`` pairs on lines of at most ``width`` characters, broken
    between pairs (a notebook wraps one long line anywhere, "memo / risation_ratio")."""
    lines, line = [], ""
    for key, value in result.items():
        item = f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}"
        if line and len(line) + 2 + len(item) > width:
            lines.append(line + ",")
            line = indent + item
        else:
            line = f"{line}, {item}" if line else indent + item
    return "\n".join(lines + [line]) if line else ""
