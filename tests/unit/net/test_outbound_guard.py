"""The outbound guard (`prosync.net.guard`): real sockets, real local servers, only the name resolver
replaced (the guard's own `resolve` parameter), so that public-looking names can point at loopback."""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from prosync.net.guard import AddressRejected, GuardedClient, refusal_reason


class Server:
    """A local HTTP(S) server counting TCP connections and requests (with their Host headers)."""

    def __init__(self, host="127.0.0.1", tls: ssl.SSLContext | None = None):
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers

            def do_GET(self):  # noqa: N802
                counter.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        class Counting(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

            def verify_request(self, request, client_address):
                counter.connections += 1
                return True

        self.connections, self.hosts = 0, []
        self.server = Counting((host, 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    started = Server()
    yield started
    started.close()


def resolver(answers: dict[str, list[str]], calls: list[str] | None = None):
    """A getaddrinfo that knows only `answers` (name -> addresses), as DNS would answer them."""
    def resolve(host, port, type=0, **_):
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]]
    return resolve


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.7", "172.20.1.1", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "224.0.0.251", "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "::1", "::", "fd00::1", "fd00:ec2::254", "fe80::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "2002:7f00:1::1", "2002:a9fe:a9fe::",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2001::1", "::7f00:1",
])
def test_non_public_addresses_are_refused(address):
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [
    "8.8.8.8", "52.95.110.1", "2606:4700::1111", "2a00:1450:4001::200e",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
])
def test_public_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_the_reason_names_the_kind_of_address():
    assert refusal_reason(ipaddress.ip_address("169.254.169.254")) == "cloud metadata"
    assert refusal_reason(ipaddress.ip_address("fd00:ec2::254")) == "cloud metadata"
    assert refusal_reason(ipaddress.ip_address("100.100.1.1")) == "shared (CGNAT)"
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback (IPv4 inside IPv6)"


@pytest.mark.parametrize("loopback", ["127.0.0.1", "::1"])
def test_a_public_looking_name_resolving_to_loopback_is_refused_before_connecting(loopback):
    server = Server(loopback)
    try:
        with GuardedClient(timeout=5, resolve=resolver({"media.example.com": [loopback]})) as client:
            with pytest.raises(AddressRejected) as refused:
                client.get(f"http://media.example.com:{server.port}/out.mp4")
        assert refused.value.reason == "loopback" and refused.value.address == ipaddress.ip_address(loopback)
        assert loopback not in str(refused.value)  # the message may reach users: no internal address
        assert (server.connections, server.hosts) == (0, [])
    finally:
        server.close()


@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "fd00::1", "fd00:ec2::254", "100.64.3.4"])
def test_names_resolving_into_private_networks_open_no_socket(address, monkeypatch):
    opened = []
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a) or real(*a, **k))
    with GuardedClient(timeout=5, resolve=resolver({"media.example.com": [address]})) as client:
        with pytest.raises(AddressRejected):
            client.get("https://media.example.com/out.mp4")
    assert opened == []


def test_one_private_answer_among_public_ones_refuses_the_name(server, monkeypatch):
    opened = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a))
    answers = {"media.example.com": ["93.184.216.34", "2606:2800:220:1::1", "127.0.0.1"]}
    with GuardedClient(timeout=5, resolve=resolver(answers)) as client, pytest.raises(AddressRejected):
        client.get(f"http://media.example.com:{server.port}/")
    assert opened == [] and server.connections == 0


def test_a_trusted_origin_connects_to_the_address_the_guard_resolved(server):
    """The name is resolved once per connection, by the guard; httpx never resolves it again (the
    system resolver knows no `.test` names), and the Host header stays the name."""
    calls = []
    origin = f"http://sync.example.test:{server.port}"
    with GuardedClient(timeout=5, trusted=[origin], resolve=resolver({"sync.example.test": ["127.0.0.1"]}, calls)) \
            as client:
        assert client.get(f"{origin}/a").text == "ok"
        assert client.get(f"{origin}/b").text == "ok"  # kept alive: no new connection, no new lookup
        with pytest.raises(AddressRejected):  # trust is for that origin's port only
            client.get("http://sync.example.test:1/")
    assert server.hosts == [f"sync.example.test:{server.port}"] * 2
    assert server.connections == 1 and calls == ["sync.example.test", "sync.example.test"]


def test_an_unresolvable_name_is_a_connect_error_not_a_refusal():
    with GuardedClient(timeout=5, resolve=resolver({})) as client, pytest.raises(httpx.ConnectError):
        client.get("https://nowhere.example.com/")


def test_proxy_settings_from_the_environment_are_ignored(server, monkeypatch):
    """A proxy would connect in the guard's stead: the client never uses one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{server.port}")
    with GuardedClient(timeout=5, resolve=resolver({"media.example.com": ["10.0.0.7"]})) as client:
        with pytest.raises(AddressRejected):
            client.get("http://media.example.com/out.mp4")
    assert server.connections == 0


def _certificate(name: str, directory):
    """A self-signed certificate for `name`; returns (server context, client context trusting it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert_file, key_file)
    return served, ssl.create_default_context(cafile=str(cert_file))


def test_tls_verifies_and_sends_the_name_while_connecting_to_the_checked_address(tmp_path):
    served, trusting = _certificate("cdn.example.test", tmp_path)
    names = []
    served.sni_callback = lambda sock, name, context: names.append(name)
    server = Server(tls=served)
    try:
        resolve = resolver({"cdn.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
        trusted = [f"https://cdn.example.test:{server.port}", f"https://other.example.test:{server.port}"]
        with GuardedClient(timeout=5, trusted=trusted, resolve=resolve, ssl_context=trusting) as client:
            assert client.get(f"https://cdn.example.test:{server.port}/x").text == "ok"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|match"):
                client.get(f"https://other.example.test:{server.port}/x")  # the certificate is not for it
        assert names[0] == "cdn.example.test" and server.hosts == [f"cdn.example.test:{server.port}"]
    finally:
        server.close()
