"""TLS part of the environment review: certificate strength and validity, key permissions, live handshake."""

from __future__ import annotations

import socket
import ssl
import warnings
from datetime import UTC, datetime, timedelta

from tuneguard.core import Finding, Severity

from .envcheck_base import EnvTarget, finding, is_loopback


def check_tls(t: EnvTarget) -> list[Finding]:
    if not t.tls_cert or not t.tls_key:
        sev = Severity.LOW if is_loopback(t.host) else Severity.HIGH
        return [
            finding(
                "serve.env.tls.missing",
                sev,
                "TLS is not configured: prompts, responses and API keys travel in "
                "clear text" + (" (loopback bind only)" if sev is Severity.LOW else ""),
                t.host,
            )
        ]
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    out: list[Finding] = []
    try:
        cert = x509.load_pem_x509_certificate(t.tls_cert.read_bytes())
    except (OSError, ValueError) as exc:
        return [
            finding(
                "serve.env.tls.unreadable",
                Severity.HIGH,
                f"TLS certificate cannot be read ({exc.__class__.__name__})",
                str(t.tls_cert),
            )
        ]
    key = cert.public_key()
    subject = str(t.tls_cert)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        out.append(
            finding(
                "serve.env.tls.weak_key",
                Severity.HIGH,
                f"RSA key of {key.key_size} bits (< 2048)",
                subject,
                bits=key.key_size,
            )
        )
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 256:
        out.append(
            finding(
                "serve.env.tls.weak_key", Severity.HIGH, f"EC key on {key.curve.name} (< 256 bits)", subject
            )
        )
    elif isinstance(key, dsa.DSAPublicKey):
        out.append(finding("serve.env.tls.weak_key", Severity.HIGH, "DSA certificate key", subject))
    elif not isinstance(
        key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
    ):
        out.append(
            finding(
                "serve.env.tls.weak_key", Severity.MEDIUM, f"unusual key type {type(key).__name__}", subject
            )
        )
    algo = cert.signature_hash_algorithm
    if algo is not None and algo.name in ("md5", "sha1", "sha224"):
        out.append(
            finding(
                "serve.env.tls.weak_signature", Severity.HIGH, f"certificate signed with {algo.name}", subject
            )
        )
    now = datetime.now(UTC)
    if cert.not_valid_after_utc <= now:
        out.append(
            finding(
                "serve.env.tls.expired",
                Severity.HIGH,
                f"certificate expired {cert.not_valid_after_utc:%Y-%m-%d}",
                subject,
            )
        )
    elif cert.not_valid_after_utc - now < timedelta(days=30):
        out.append(
            finding(
                "serve.env.tls.expiring",
                Severity.MEDIUM,
                f"certificate expires {cert.not_valid_after_utc:%Y-%m-%d} (< 30 days)",
                subject,
            )
        )
    if cert.issuer == cert.subject:
        out.append(
            finding(
                "serve.env.tls.self_signed",
                Severity.LOW,
                "self-signed certificate (clients cannot verify the gateway unless they pin it)",
                subject,
            )
        )
    if t.tls_key.exists() and (t.tls_key.stat().st_mode & 0o077):
        out.append(
            finding(
                "serve.env.tls.key_permissions",
                Severity.HIGH,
                f"TLS private key is readable by group/others (mode {t.tls_key.stat().st_mode & 0o777:o})",
                str(t.tls_key),
            )
        )
    return out


def probe_tls(host: str, port: int, url: str) -> list[Finding]:
    out: list[Finding] = []
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=10) as sock, ctx.wrap_socket(sock) as tls:
        version, cipher = tls.version(), tls.cipher()
    if version not in ("TLSv1.2", "TLSv1.3"):
        out.append(finding("serve.env.tls.protocol", Severity.HIGH, f"negotiated {version}", url))
    if cipher and any(w in cipher[0] for w in ("RC4", "DES", "NULL", "EXPORT", "MD5")):
        out.append(finding("serve.env.tls.cipher", Severity.HIGH, f"weak cipher {cipher[0]}", url))
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # asking for the deprecated versions is the point of the probe
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection((host, port), timeout=10) as sock, old.wrap_socket(sock):
            out.append(
                finding("serve.env.tls.legacy_protocol", Severity.HIGH, "server accepts TLS 1.0/1.1", url)
            )
    except (ssl.SSLError, OSError, ValueError):
        pass  # refused: what we want
    return out
