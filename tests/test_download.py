"""The LFW downloader, against an HTTP server on 127.0.0.1 serving archives the test builds."""

import hashlib
import http.server
import io
import tarfile
import threading

import pytest

from gan_helpers import cli, download
from gan_helpers.synthetic import make_face_folder


def build_archive(tmp_path, name="good.tgz", extra=None):
    """A small LFW-like .tgz: top folder ``faces`` with per-person image folders."""
    folder = make_face_folder(tmp_path / "src", people=2, per_person=2)
    path = tmp_path / "served" / name
    path.parent.mkdir(exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="faces")
        for member, payload in (extra or []):
            tar.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return path


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/served`` on 127.0.0.1; yields the base URL."""
    root = tmp_path / "served"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source(url, path, digest=None, folder="faces"):
    return download.Source(f"{url}/{path.name}", path.name, "sha256", digest or sha256(path), folder)


def test_download_verifies_and_extracts(server, tmp_path):
    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    folder = download.download(dest, [source(server, archive)], progress=False)
    assert folder == dest / "faces"
    assert len(list(folder.rglob("*.jpg"))) == 4
    assert (dest / "good.tgz").read_bytes() == archive.read_bytes()
    assert not list(dest.glob("*.part"))


def test_bad_checksum_deletes_the_file_and_falls_back_to_the_mirror(server, tmp_path):
    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    bad = source(server, archive, digest="0" * 64)
    with pytest.raises(download.DownloadError, match="Checksum mismatch"):
        download.download(dest, [bad], progress=False)
    assert not list(dest.glob("good.tgz*"))  # nothing half-downloaded is left to be mistaken for done
    # The first source is broken (bad checksum), the second (a mirror) works.
    folder = download.download(dest, [bad, source(server, archive)], progress=False)
    assert len(list(folder.rglob("*.jpg"))) == 4


def test_unreachable_source_falls_back(server, tmp_path):
    archive = build_archive(tmp_path)
    missing = download.Source(f"{server}/missing.tgz", "missing.tgz", "sha256", "0" * 64, "faces")
    folder = download.download(tmp_path / "data", [missing, source(server, archive)], progress=False)
    assert folder.is_dir()


@pytest.mark.parametrize("name, kind, target", [
    ("../evil.txt", tarfile.REGTYPE, ""),
    ("/tmp/evil.txt", tarfile.REGTYPE, ""),
    ("faces/link", tarfile.SYMTYPE, "../../outside"),
    ("faces/abs_link", tarfile.SYMTYPE, "/etc/passwd"),
])
def test_unsafe_members_are_refused_before_anything_is_written(server, tmp_path, name, kind, target):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    payload = b"pwned" if kind == tarfile.REGTYPE else None
    member.size = len(payload) if payload else 0
    archive = build_archive(tmp_path, "evil.tgz", extra=[(member, payload)])
    dest = tmp_path / "data"
    with pytest.raises(download.UnsafeArchiveError, match="Refusing"):
        download.download(dest, [source(server, archive)], progress=False)
    assert not (dest / "faces").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_cli_download_with_url(server, tmp_path, capsys):
    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    status = cli.main(["download", "--dest", str(dest), "--url", f"{server}/good.tgz",
                       "--sha256", sha256(archive), "--folder", "faces", "--quiet"])
    assert status == 0 and (dest / "faces").is_dir()
    status = cli.main(["download", "--dest", str(tmp_path / "d2"), "--url", f"{server}/good.tgz",
                       "--sha256", "f" * 64, "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Checksum mismatch" in err


def test_a_wrong_folder_name_reports_the_folder_the_archive_really_made(server, tmp_path):
    archive = build_archive(tmp_path)  # its top folder is "faces"
    dest = tmp_path / "data"
    folder = download.download(dest, [source(server, archive, folder="not_what_it_holds")], progress=False)
    assert folder == dest / "faces" and folder.is_dir()


def test_an_archive_with_several_top_folders_and_a_wrong_name_is_a_clear_error(server, tmp_path):
    two = tmp_path / "served" / "two.tgz"
    with tarfile.open(two, "w:gz") as tar:
        for top in ("a", "b"):
            path = tmp_path / top / "person" / "x.txt"
            path.parent.mkdir(parents=True)
            path.write_text(top)
            tar.add(tmp_path / top, arcname=top)
    with pytest.raises(download.DownloadError, match="did not extract to .*holds a, b.*--folder"):
        download.download(tmp_path / "data", [source(server, two, folder="faces")], progress=False)


def test_an_extraction_stopped_by_a_full_disk_leaves_no_half_dataset(server, tmp_path, monkeypatch):
    import errno

    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    real_extract = tarfile.TarFile.extract

    def extract_then_fill_the_disk(self, member, path="", **kwargs):
        if member.name.endswith(".jpg") and list(tmp_path.rglob(".extracting.*/**/*.jpg")):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_extract(self, member, path, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extract", extract_then_fill_the_disk)
    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda self, path, filter=None: [
        self.extract(m, path, filter=filter) for m in self.getmembers()])
    with pytest.raises(download.DownloadError, match="downloaded and verified, but extracting it .* failed "
                                                     r"\(No space left on device\); nothing was left"):
        download.download(dest, [source(server, archive)], progress=False)
    assert not (dest / "faces").exists() and not list(dest.glob(".extracting.*"))
    assert (dest / archive.name).exists()  # the verified archive is kept and reused
    monkeypatch.undo()
    folder = download.download(dest, [source(server, archive)], progress=False)
    assert len(list(folder.rglob("*.jpg"))) == 4


def test_a_killed_extraction_is_cleaned_up_by_the_next(server, tmp_path):
    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    stale = dest / ".extracting.999999999" / "faces"
    stale.mkdir(parents=True)
    (stale / "half.jpg").write_bytes(b"x")
    folder = download.download(dest, [source(server, archive)], progress=False)
    assert len(list(folder.rglob("*.jpg"))) == 4 and not list(dest.glob(".extracting.*"))


def test_an_archive_whose_entry_is_already_there_moves_nothing(server, tmp_path):
    member = tarfile.TarInfo("README.txt")
    member.size = 5
    archive = build_archive(tmp_path, extra=[(member, b"hello")])
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "README.txt").write_text("mine")
    with pytest.raises(download.ArchiveLayoutError, match="README.txt already exists"):
        download.download(dest, [source(server, archive)], progress=False)
    assert not (dest / "faces").exists() and (dest / "README.txt").read_text() == "mine"
    assert not list(dest.glob(".extracting.*"))


def test_the_same_download_twice_keeps_the_good_dataset_and_says_nothing_is_wrong(server, tmp_path):
    archive = build_archive(tmp_path)
    dest = tmp_path / "data"
    first = download.download(dest, [source(server, archive)], progress=False)
    before = sorted((p.relative_to(dest), p.stat().st_size) for p in first.rglob("*"))
    again = download.download(dest, [source(server, archive)], progress=False)
    assert again == first and sorted((p.relative_to(dest), p.stat().st_size) for p in first.rglob("*")) == before
    assert not list(dest.glob(".extracting.*"))


@pytest.mark.parametrize("value", ["-1", "nan", "0", "inf"])
def test_a_timeout_that_is_no_number_of_seconds_names_the_flag(value):
    from helpers import one_line_error, run_cli

    one_line_error(run_cli("download", "--dest", "nowhere", "--timeout", value), "--timeout", "positive number of seconds")
