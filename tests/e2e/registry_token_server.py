#!/usr/bin/env python3
"""A token service for Docker's registry token authentication, for kube-registry.sh.

Usage: registry_token_server.py PORT KEY_PEM CERT_PEM ISSUER SERVICE USER PASSWORD REFRESH_TOKEN

GET /token?service=S&scope=repository:R:pull,push with Basic USER:PASSWORD, or POST /token
with grant_type=refresh_token&refresh_token=REFRESH_TOKEN (an identity token), answers a
JWT (RS256, the certificate in its x5c header, which the registry checks against its
rootcertbundle) granting the scope asked for. The user "crlf" gets a token with CR/LF in it
(hostile). Anything else: 401. Each request is logged to
stderr with the Authorization scheme it carried, so that the test can check what was sent.
"""
import base64
import http.server
import json
import os
import subprocess
import sys
import time
import urllib.parse

port, key, cert, issuer, service, user, password, refresh = sys.argv[1:9]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(subject, scope):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    access = []
    parts = scope.split(":")
    if len(parts) == 3 and parts[0] == "repository":
        access.append({"type": "repository", "name": parts[1], "actions": parts[2].split(",")})
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(), check=True,
                         capture_output=True).stdout
    return signing_input + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        sys.stderr.write("GET auth=%s\n" % (auth.split(" ")[0] or "none"))
        expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        if auth.startswith("Basic ") and base64.b64decode(auth[6:]).startswith(b"crlf:"):
            # A hostile answer: a token that would split the registry request's headers.
            return self.answer(200, {"token": "abc\r\nX-Injected: 1"})
        if auth != expected or q.get("service") != [service]:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad user or password"}]})
        self.answer(200, {"token": jwt(user, q.get("scope", [""])[0])})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        sys.stderr.write("POST grant=%s\n" % form.get("grant_type", [""])[0])
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [refresh]:
            return self.answer(401, {"error": "invalid_grant"})
        self.answer(200, {"access_token": jwt("token-user", form.get("scope", [""])[0]), "expires_in": 300})

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
