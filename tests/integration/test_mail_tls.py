"""E-mail over TLS through a real local SMTP server (aiosmtpd): implicit TLS (SMTP_SSL, port 465 style) and
STARTTLS, and that the server's certificate and host name are verified, so that a man in the middle gets no
mail, while SMTP_CA_FILE lets a server with a private CA be trusted."""
import ipaddress
import ssl
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import MailState, Notification
from app.risk.models import Alert
from tests.integration.test_notifications import (  # noqa: F401 (emails is a fixture)
    Collector, _body, _free_port, _screen_critical, emails)

RECIPIENTS = ["doctor@school.test", "teacher2@school.test", "teacher@school.test"]
CONFIG_KEYS = ("MAIL_ENABLED", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_SSL", "SMTP_CA_FILE",
               "SMTP_TIMEOUT", "XINQIAO_BASE_URL")


def _certificate(directory, san):
    """A self-signed server certificate for `san` (an IP address or a DNS name); returns (cert, key) PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(san))])
    alt = x509.IPAddress(san) if isinstance(san, ipaddress.IPv4Address) else x509.DNSName(san)
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{san}.crt", directory / f"{san}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def certificate(tmp_path):
    return _certificate(tmp_path, ipaddress.IPv4Address("127.0.0.1"))


@pytest.fixture
def tls_mail(app):
    """`tls_mail(cert, key, implicit=...)` starts an SMTP server speaking TLS from the first byte (implicit) or
    offering STARTTLS with that certificate, points mail at it (no CA file yet), and returns its messages."""
    saved = {k: app.config.get(k) for k in CONFIG_KEYS}
    controllers = []

    def start(cert, key, *, implicit):
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        port = _free_port()
        collector = Collector()
        tls = {"ssl_context": server_context} if implicit else {"tls_context": server_context}
        controller = Controller(collector, hostname="127.0.0.1", port=port, **tls)
        controller.start()
        controllers.append(controller)
        app.config.update(MAIL_ENABLED=True, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SSL=implicit,
                          SMTP_STARTTLS=not implicit, SMTP_CA_FILE=None, SMTP_TIMEOUT=3,
                          XINQIAO_BASE_URL="https://xinqiao.example.edu.cn")
        return collector.messages

    yield start
    for controller in controllers:
        controller.stop()
    app.config.update(saved)


def _mail_states(app):
    with app.app_context():
        return db.session.scalars(select(Notification.mail_state).order_by(Notification.id)).all()


def test_implicit_tls_delivers_to_a_server_trusted_through_the_ca_file(app, world, client_factory, emails,
                                                                       tls_mail, certificate):
    messages = tls_mail(*certificate, implicit=True)
    app.config["SMTP_CA_FILE"] = certificate[0]
    alert_id = _screen_critical(app, client_factory, world)
    assert sorted(r for rcpts, _ in messages for r in rcpts) == RECIPIENTS
    assert all(f"A{alert_id:06d}" in _body(m) for _, m in messages)
    assert _mail_states(app) == [MailState.SENT] * 3


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_an_untrusted_certificate_gets_no_mail_until_its_ca_file_is_set(app, world, client_factory, emails,
                                                                        tls_mail, certificate, implicit):
    messages = tls_mail(*certificate, implicit=implicit)  # self-signed, not in the system's CAs: a stranger
    alert_id = _screen_critical(app, client_factory, world)
    with app.app_context():
        assert db.session.get(Alert, alert_id) is not None  # the alert stands whatever mail does
    assert _mail_states(app) == [MailState.PENDING] * 3
    assert messages == []
    app.config["SMTP_CA_FILE"] = certificate[0]
    runner = app.test_cli_runner()
    assert "mail sent: 3" in runner.invoke(args=["alerts", "sweep"]).output
    assert "mail sent: 0" in runner.invoke(args=["alerts", "sweep"]).output
    assert sorted(r for rcpts, _ in messages for r in rcpts) == RECIPIENTS
    assert _mail_states(app) == [MailState.SENT] * 3


def test_a_trusted_certificate_for_another_host_gets_no_mail(app, world, client_factory, emails, tls_mail,
                                                            tmp_path):
    cert, key = _certificate(tmp_path, "mail.elsewhere.example")  # trusted below, but not for 127.0.0.1
    messages = tls_mail(cert, key, implicit=False)
    app.config["SMTP_CA_FILE"] = cert
    _screen_critical(app, client_factory, world)
    assert "mail sent: 0" in app.test_cli_runner().invoke(args=["alerts", "sweep"]).output
    assert _mail_states(app) == [MailState.PENDING] * 3
    assert messages == []
