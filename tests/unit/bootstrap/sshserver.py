"""A real SSH server (paramiko's server side) on 127.0.0.1 for host-key tests: it completes
key exchange with the host keys it is given and refuses every login."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path


def make_key(path: Path, kind: str = "ed25519"):
    import paramiko

    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True,
                   capture_output=True)
    loader = {"ed25519": paramiko.Ed25519Key, "rsa": paramiko.RSAKey,
              "ecdsa": paramiko.ECDSAKey}[kind]
    return loader.from_private_key_file(str(path))


class KeyServer:
    def __init__(self, keys) -> None:
        self.keys = list(keys)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import paramiko

        class Refuse(paramiko.ServerInterface):
            def get_allowed_auths(self, username):
                return "password"

            def check_auth_password(self, username, password):
                return paramiko.AUTH_FAILED

        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            for key in self.keys:
                transport.add_server_key(key)
            try:
                transport.start_server(server=Refuse())
                self.handshakes += 1
            except Exception:  # noqa: BLE001 - a client that gave up the exchange
                transport.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()
