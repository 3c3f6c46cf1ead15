"""A `SecretStore` over plain files, for tests and support scripts.

It protects nothing: anyone who can read the directory reads the device token
and the queue's data key. The phone apps use the Android Keystore and the iOS
Keychain implementations of their wrappers (see docs/security.md).
"""

import os
import pathlib
import re

from .postcso import SecretStore, SecretStoreError

_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


class FileSecretStore(SecretStore):
    """Each secret in its own file under `directory`, written crash-safely
    (temporary file, fsync, rename, directory fsync) with mode 0600."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)

    def _path(self, name):
        if not _NAME.match(name):
            raise SecretStoreError.Failed(f"not a secret name: {name!r}")
        return self.directory / name

    def get(self, name):
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise SecretStoreError.Failed(str(e)) from e

    def put(self, name, value):
        path = self._path(name)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, bytes(value))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            self._sync_dir()
        except OSError as e:
            raise SecretStoreError.Failed(str(e)) from e

    def delete(self, name):
        try:
            self._path(name).unlink()
            self._sync_dir()
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SecretStoreError.Failed(str(e)) from e

    def _sync_dir(self):
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
