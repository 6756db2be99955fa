"""Fixtures for invoice mail: a real demo database, the real checkout, a real Dovecot on 127.0.0.1.

The counter is outlet TAMPINES (the demo programme earns there). Receipts come from devtools.invoice_corpus.
"""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.invoices.service import InvoiceServices, build_invoice_services
from frontdesk.invoices.settings import ImapSettings, InvoiceSettings
from frontdesk.store import make_engine

warnings.filterwarnings("ignore", message="Dimensions for page format", category=UserWarning)

ROOT = Path(__file__).resolve().parents[2]
MANAGER_ID, MANAGER_PIN = 3, "9999"  # demo staff S03 Mei Tan


def query(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def settings(demo_db: Path) -> Settings:
    return replace(Settings(), database=str(demo_db), outlet_code="TAMPINES", counter_id="C2")


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_path)
    yield engine
    engine.dispose()


@pytest.fixture
def config() -> InvoiceSettings:
    return InvoiceSettings(outlets=("TAMPINES",), window_days=35, default_staff="S01")


@pytest.fixture
def invoices(engine, settings: Settings, config: InvoiceSettings) -> Iterator[InvoiceServices]:  # type: ignore
    services = build_invoice_services(engine, settings, config=config)
    yield services
    services.close()


@pytest.fixture
def members(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(member code, name, mobile as printed, email) of demo members whose phone and email nobody else shares."""
    rows = query(settings.database_path,
                 "SELECT member_no, display_name, phone_e164, email FROM members m WHERE status = 'active' AND "
                 "(SELECT count(*) FROM members o WHERE o.phone_e164 = m.phone_e164) = 1 AND "
                 "(SELECT count(*) FROM members o WHERE o.email = m.email) = 1 ORDER BY id LIMIT 40")
    return [(code, name, f"+65 {phone[3:7]} {phone[7:]}", email) for code, name, phone, email in rows]


def member_id(db: Path | str, code: str) -> int:
    return query(db, "SELECT id FROM members WHERE member_no = ?", (code,))[0][0]


# --- Dovecot --------------------------------------------------------------------------------------------------
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
USER, PASSWORD = "frontdesk@salon.test", "secret123"
# Dovecot 2.3's post-login capabilities without IDLE, for the polling fallback.
NO_IDLE_CAPS = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE UIDPLUS CHILDREN UNSELECT "
                "MULTIAPPEND CONDSTORE QRESYNC ESEARCH SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    tls_port: int = 0

    def ssl_context(self):  # type: ignore[no-untyped-def]
        import ssl

        context = ssl.create_default_context(cafile=str(self.root / "cert.pem"))
        return context

    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        if self.tls_port:
            client.starttls(self.ssl_context())
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search(["ALL"]), ["FLAGS"]).items()}
        finally:
            client.logout()

    def imap(self, **overrides) -> ImapSettings:  # type: ignore[no-untyped-def]
        values = {"host": "127.0.0.1", "port": self.port, "security": "plain", "user": USER, "folder": "INBOX",
                  "poll_seconds": 1.0, "idle_renew_seconds": 600.0, "timeout_seconds": 10.0, **overrides}
        return ImapSettings(**values)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def make_certificate(root: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (the tests trust exactly this one)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here: no certificate for the TLS tests")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"), "-out",
                    str(root / "cert.pem")], check=True, capture_output=True)
    os.chmod(root / "key.pem", 0o644)
    return root / "cert.pem"


def start_dovecot(*, idle: bool = True, tls: bool = False) -> Dovecot:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed here (apt-get install dovecot-imapd); .ci/run installs it")
    root = Path(tempfile.mkdtemp(prefix="fd-dovecot-", dir="/tmp"))
    os.chmod(root, 0o755)
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    if os.geteuid() == 0:
        login_user, internal_user, uid = "dovenull", "dovecot", "dovecot"
        shutil.chown(root / "mail", "dovecot", "dovecot")
    else:
        import pwd

        login_user = internal_user = uid = pwd.getpwuid(os.getuid()).pw_name
    gid = uid
    caps = "" if idle else f"imap_capability = {NO_IDLE_CAPS}\n"
    ssl_conf, imaps_port, tls_port = "ssl = no", 0, 0
    if tls:
        cert = make_certificate(root)
        tls_port = free_port()
        ssl_conf = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{root / 'key.pem'}"
        imaps_port = tls_port
    (root / "dovecot.conf").write_text(f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
first_valid_gid = 0
{caps}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = Dovecot(root, port, process, tls_port)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                server.stop()
                raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
            time.sleep(0.02)
    return server


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    server = start_dovecot(tls=True)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def dovecot_without_idle() -> Iterator[Dovecot]:
    server = start_dovecot(idle=False)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
