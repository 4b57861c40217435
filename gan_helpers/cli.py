"""The command line: ``python -m gan_helpers COMMAND``.

Every command reports bad arguments and missing files in one clear line
(exit status 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings


def _cmd_download(args) -> int:
    from gan_helpers import download

    sources = download.LFW_SOURCES
    if args.url:
        if not args.sha256:
            raise ValueError("--url needs --sha256 HEX, the archive's checksum, so the download can be verified.")
        name = args.url.rstrip("/").rsplit("/", 1)[-1] or "archive.tgz"
        folder = args.folder or name.split(".")[0]
        sources = (download.Source(args.url, name, "sha256", args.sha256.lower(), folder),)
    folder = download.download(args.dest, sources, timeout=args.timeout, progress=not args.quiet)
    print(f"LFW is in {folder}. Next: python -m gan_helpers prepare --data {folder}")
    return 0


def _cmd_prepare(args) -> int:
    from gan_helpers import data

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        faces = data.load_dataset(args.data, image_size=args.size, crop=args.crop,
                                  use_cache=not args.no_cache, progress=not args.quiet)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"Used {len(faces):,} images of {faces.num_people:,} people from {faces.source} "
          f"({len(faces.skipped)} skipped) as {args.size}x{args.size} RGB in {seconds:.1f} s"
          f"{' (from cache)' if faces.from_cache else ''}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_helpers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("download", help="download LFW, verify its checksum and extract it")
    p.add_argument("--dest", default="data", help="folder to put the archive and the images in (default: data)")
    p.add_argument("--url", help="download from this URL instead of the LFW site and its mirror")
    p.add_argument("--sha256", help="the SHA-256 checksum of the archive at --url")
    p.add_argument("--folder", help="the top folder the --url archive extracts to")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the server")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_download)

    p = commands.add_parser("prepare", help="preprocess the faces once and cache them")
    p.add_argument("--data", help="dataset folder or .tgz (default: $LFW_DIR, then data/lfw-deepfunneled)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels, even, 16..128 (default 64)")
    p.add_argument("--crop", type=int, default=50, help="pixels cut from every side first (default 50)")
    p.add_argument("--no-cache", action="store_true", help="decode again and write no cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_prepare)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as error:
        # One line the user can act on; the error types carry the fix in their message.
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
