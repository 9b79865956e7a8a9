"""A disk that loses what was never synced when its power is cut: a FUSE folder for crash tests.

    python tests/power_cut_disk.py BACKING MOUNTPOINT     # serves until killed

Files under MOUNTPOINT live in BACKING, but every write stays in this process's memory (the
"drive cache") until the program fsyncs that file; only then is the file's content written
to BACKING and synced. Killing this process with SIGKILL is the power cut: every write not
yet synced is gone, exactly what a kill -9 of the server alone can never show (the kernel's
page cache survives that). Creating, renaming and removing files are treated as durable at
once; the test is about data, and SQLite syncs its data, not its directory, on commit.

Files are held whole in memory while they have unsynced writes: fine for a test database.
"""

from __future__ import annotations

import errno
import os
import sys
import threading

from mfusepy import FUSE, FuseOSError, Operations


class PowerCutDisk(Operations):
    use_ns = True  # utimens gets nanoseconds

    def __init__(self, backing: str):
        self.backing = os.path.realpath(backing)
        self.unsynced: dict[str, bytearray] = {}  # path -> the file's whole content, not yet on disk
        self._mutex = threading.Lock()

    def _real(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _content(self, path: str) -> bytearray:
        """The file's current content, taken into the cache to be changed."""
        if path not in self.unsynced:
            with open(self._real(path), "rb") as file:
                self.unsynced[path] = bytearray(file.read())
        return self.unsynced[path]

    # --- data: held until fsync --------------------------------------------------------------

    def read(self, path, size, offset, fh):
        with self._mutex:
            if path in self.unsynced:
                return bytes(self.unsynced[path][offset : offset + size])
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        with self._mutex:
            content = self._content(path)
            if len(content) < offset:
                content.extend(bytes(offset - len(content)))
            content[offset : offset + len(data)] = data
        return len(data)

    def truncate(self, path, length, fh=None):
        with self._mutex:
            content = self._content(path)
            if length < len(content):
                del content[length:]
            else:
                content.extend(bytes(length - len(content)))
        return 0

    def fsync(self, path, datasync, fh):
        with self._mutex:
            content = self.unsynced.pop(path, None)
            if content is not None:
                descriptor = os.open(self._real(path), os.O_WRONLY)
                try:
                    os.ftruncate(descriptor, len(content))
                    os.pwrite(descriptor, bytes(content), 0)
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
        return 0

    def flush(self, path, fh):
        return 0  # close() promises nothing about the disk

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._real(path))
        except OSError as error:
            raise FuseOSError(error.errno) from None
        attrs = {key: getattr(st, key) for key in ("st_gid", "st_mode", "st_nlink", "st_size", "st_uid")}
        attrs.update(st_atime=st.st_atime_ns, st_ctime=st.st_ctime_ns, st_mtime=st.st_mtime_ns)
        with self._mutex:
            if path in self.unsynced:
                attrs["st_size"] = len(self.unsynced[path])
        return attrs

    # --- files and folders: passed through -----------------------------------------------------

    def open(self, path, flags):
        return os.open(self._real(path), os.O_RDONLY)  # reads of synced content; writes go to the cache

    def create(self, path, mode, fi=None):
        os.close(os.open(self._real(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode))
        with self._mutex:
            self.unsynced.pop(path, None)
        return os.open(self._real(path), os.O_RDONLY)

    def release(self, path, fh):
        os.close(fh)
        return 0

    def unlink(self, path):
        with self._mutex:
            self.unsynced.pop(path, None)
        os.unlink(self._real(path))
        return 0

    def rename(self, old, new):
        os.rename(self._real(old), self._real(new))
        with self._mutex:
            if old in self.unsynced:
                self.unsynced[new] = self.unsynced.pop(old)
        return 0

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._real(path))]

    def access(self, path, amode):
        if not os.access(self._real(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def chmod(self, path, mode):
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path, uid, gid):
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path, times=None):
        os.utime(self._real(path), ns=times)
        return 0

    def mkdir(self, path, mode):
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path):
        os.rmdir(self._real(path))
        return 0

    def statfs(self, path):
        st = os.statvfs(self._real(path))
        return {
            key: getattr(st, key)
            for key in (
                "f_bavail",
                "f_bfree",
                "f_blocks",
                "f_bsize",
                "f_favail",
                "f_ffree",
                "f_files",
                "f_flag",
                "f_frsize",
                "f_namemax",
            )
        }


if __name__ == "__main__":
    backing, mountpoint = sys.argv[1:3]
    FUSE(PowerCutDisk(backing), mountpoint, foreground=True, nothreads=False)
