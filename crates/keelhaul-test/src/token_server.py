"""A Docker-registry token server for keelhaul's tests (Distribution token auth, ES256).

Usage: token_server.py PORT CERT_OUT LOG_OUT USER PASSWORD
Writes the signing certificate to CERT_OUT (for the registry's rootcertbundle), then serves
GET /token?service=...&scope=repository:NAME:ACTIONS. Requests with the right Basic
credentials get the scopes they ask for; anonymous ones get a token with no access.
Every request is appended to LOG_OUT, so tests can count token fetches.
"""
import base64, datetime, http.server, json, os, sys, time, urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

port, cert_out, log_out, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keelhaul-test-token-issuer")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
with open(cert_out + ".tmp", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
os.rename(cert_out + ".tmp", cert_out)
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(service, scopes, authorized):
    access = []
    if authorized:
        for s in scopes:
            parts = s.split(":")
            if len(parts) >= 3:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
    t = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "x5c": [x5c]}
    claims = {"iss": "keelhaul-test-issuer", "sub": user if authorized else "", "aud": service,
              "exp": t + 300, "nbf": t - 30, "iat": t, "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        authorized = False
        if auth.startswith("Basic "):
            given = base64.b64decode(auth[6:]).decode(errors="replace")
            if given != f"{user}:{password}":
                self.send_response(401)
                self.end_headers()
                return
            authorized = True
        with open(log_out, "a") as f:
            f.write(json.dumps({"path": url.path, "scope": q.get("scope", []), "authorized": authorized}) + "\n")
        body = json.dumps({"token": token(q.get("service", [""])[0], q.get("scope", []), authorized), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
