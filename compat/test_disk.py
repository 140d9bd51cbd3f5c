"""SQLite's disk is full or goes read-only (issue 15, item 2).

Full: the data folder lives on a small tmpfs this test mounts itself. When the disk fills up,
writes fail with a clear 503 and reads keep working; no write is acknowledged that was not
kept (before the fix a failed COMMIT left SQLite's transaction open and later writes answered
success into it, to be lost); when space returns, writes work again without a restart.

Read-only: a filesystem cannot be remounted read-only while a database is open for writing
(EBUSY), and marking the loop device read-only does not stop writes (the kernel only warns). So
the test does what a failing disk does in production: on a loop-mounted ext4 with
`errors=remount-ro` it raises a filesystem error (`/sys/fs/ext4/<dev>/trigger_fs_error`), and
the kernel aborts the journal and makes the filesystem read-only under the running server.
Writes then fail with the same 503 and reads keep working. The kernel does not let such a
filesystem become writable again until it is unmounted and checked, so the server is stopped,
the filesystem checked and mounted again, and a restarted server must hold exactly the writes
that were acknowledged.

Both need root (mount, losetup); without it they are skipped and say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import DEFAULT_BIN, free_port, wait_serving

BIN = os.environ.get("TESSERA_BIN", DEFAULT_BIN)
OWNER = "owner@example.com"
PASSWORD = "disk-Full-passw0rd"


def mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    return r.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    if os.geteuid() != 0 or not mount_tmpfs(mnt, "16m"):
        pytest.skip("needs root to mount a size-limited tmpfs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture
def ext4_disk(tmp_path: Path):
    """A 64 MiB ext4 on a loop device, mounted with errors=remount-ro: (mount point, device,
    image)."""
    if os.geteuid() != 0 or shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs root, losetup and mkfs.ext4 for a loop-mounted ext4")
    image = tmp_path / "disk.img"
    with image.open("wb") as f:
        f.truncate(64 << 20)
    made = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    device = made.stdout.strip()
    mnt = tmp_path / "ext4"
    mnt.mkdir()
    try:
        subprocess.run(["mkfs.ext4", "-q", device], check=True, capture_output=True)
        mount_ext4(device, mnt)
        if not error_trigger(device).exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error")
        yield mnt, device, image
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        subprocess.run(["losetup", "-d", device], capture_output=True)


def mount_ext4(device: str, mnt: Path) -> None:
    subprocess.run(["mount", "-t", "ext4", "-o", "errors=remount-ro", device, str(mnt)],
                   check=True, capture_output=True)


def error_trigger(device: str) -> Path:
    return Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"


def start(data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
                            stdout=log.open("a"), stderr=subprocess.STDOUT)
    wait_serving(site, log=log)
    return proc, site


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def fill(path: Path) -> None:
    """Write zeros until the filesystem is full."""
    with path.open("wb") as f:
        block = b"\0" * (1 << 16)
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass


def send(site: str, key: str, content: str) -> requests.Response:
    return requests.post(f"{site}/api/v1/messages", auth=(OWNER, key), timeout=30,
                         data={"type": "stream", "to": "general", "topic": "disk", "content": content})


def topic_contents(site: str, key: str) -> list:
    r = requests.get(f"{site}/api/v1/messages", auth=(OWNER, key), timeout=30,
                     params={"anchor": "newest", "num_before": 500, "num_after": 0,
                             "apply_markdown": "false",
                             "narrow": '[{"operator":"topic","operand":"disk"}]'})
    assert r.status_code == 200, r.text
    return [m["content"] for m in r.json()["messages"]]


def assert_refused_write(r: requests.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == "SERVICE_UNAVAILABLE" and "Nothing was changed" in body["msg"], body
    assert r.headers.get("Retry-After") == "5"


def test_full_disk(small_disk: Path, tmp_path: Path) -> None:
    data = small_disk / "data"
    subprocess.run([BIN, "init", "--org-name", "Disk", "--email", OWNER, "--data-dir", str(data)],
                   input=PASSWORD + "\n", check=True, capture_output=True, text=True)
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_serving(site, log=log)
        key = requests.post(f"{site}/api/v1/fetch_api_key",
                            data={"username": OWNER, "password": PASSWORD}, timeout=30).json()["api_key"]
        assert send(site, key, "before").status_code == 200

        # --- Full.
        filler = small_disk / "filler"
        fill(filler)
        refused = 0
        # A few writes: SQLite may still fit a small one in pages it has; it must refuse as
        # soon as it needs more, and never answer success for a write it did not keep.
        acknowledged = ["before"]
        for i in range(40):
            r = send(site, key, f"full {i} " + "x" * 4000)
            if r.status_code == 200:
                acknowledged.append(f"full {i} " + "x" * 4000)
            else:
                assert_refused_write(r)
                refused += 1
        assert refused > 0, "a full disk refused no write"
        # Reads keep working.
        me = requests.get(f"{site}/api/v1/users/me", auth=(OWNER, key), timeout=30)
        assert me.status_code == 200, me.text
        # Exactly the acknowledged writes are there: nothing half-written.
        assert sorted(topic_contents(site, key)) == sorted(acknowledged)
        # Space returns: writes work again, no restart.
        filler.unlink()
        r = send(site, key, "after space returned")
        assert r.status_code == 200, r.text
        acknowledged.append("after space returned")
        assert sorted(topic_contents(site, key)) == sorted(acknowledged)

        assert proc.poll() is None, "the server kept running"
        assert "panicked" not in log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_disk_going_read_only(ext4_disk: tuple[Path, str, Path], tmp_path: Path) -> None:
    mnt, device, _image = ext4_disk
    data = mnt / "data"
    subprocess.run([BIN, "init", "--org-name", "Disk", "--email", OWNER, "--data-dir", str(data)],
                   input=PASSWORD + "\n", check=True, capture_output=True, text=True)
    log = tmp_path / "serve.log"
    proc, site = start(data, log)
    try:
        key = requests.post(f"{site}/api/v1/fetch_api_key",
                            data={"username": OWNER, "password": PASSWORD}, timeout=30).json()["api_key"]
        acknowledged = []
        for i in range(5):
            r = send(site, key, f"before {i}")
            assert r.status_code == 200, r.text
            acknowledged.append(f"before {i}")

        # --- The kernel makes the filesystem read-only under the running server.
        error_trigger(device).write_text("tessera test\n")
        assert "emergency_ro" in Path("/proc/mounts").read_text() or \
            any(" ro," in line for line in Path("/proc/mounts").read_text().splitlines()
                if str(mnt) in line), "the filesystem did not go read-only"
        refused = 0
        for i in range(10):
            r = send(site, key, f"read-only {i}")
            if r.status_code == 200:
                acknowledged.append(f"read-only {i}")
            else:
                assert_refused_write(r)
                refused += 1
        assert refused > 0, "a read-only disk refused no write"
        # Bots and settings are writes too: refused the same way, never a 500.
        r = requests.post(f"{site}/api/v1/bots", auth=(OWNER, key), timeout=30,
                          data={"full_name": "Read Only Bot", "short_name": "rob", "bot_type": "1"})
        assert_refused_write(r)
        # Reads keep working, and show exactly the acknowledged writes.
        me = requests.get(f"{site}/api/v1/users/me", auth=(OWNER, key), timeout=30)
        assert me.status_code == 200, me.text
        assert sorted(topic_contents(site, key)) == sorted(acknowledged)
        assert proc.poll() is None, "the server kept running"
    finally:
        stop(proc)
    assert "panicked" not in log.read_text()

    # --- Repair as an operator would: unmount, check, mount again; restart the server.
    subprocess.run(["umount", str(mnt)], check=True, capture_output=True)
    fsck = subprocess.run(["e2fsck", "-fy", device], capture_output=True, text=True)
    assert fsck.returncode in (0, 1), fsck.stdout + fsck.stderr
    mount_ext4(device, mnt)
    proc, site = start(data, log)
    try:
        # Every acknowledged write survived; none of the refused ones appeared.
        assert sorted(topic_contents(site, key)) == sorted(acknowledged)
        r = send(site, key, "after repair")
        assert r.status_code == 200, r.text
        assert sorted(topic_contents(site, key)) == sorted(acknowledged + ["after repair"])
    finally:
        stop(proc)
