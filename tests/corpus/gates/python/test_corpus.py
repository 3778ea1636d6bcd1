"""The Python gate: what test suites do with threads, processes and localhost."""
import concurrent.futures
import http.server
import multiprocessing
import os
import subprocess
import threading
import urllib.request

FAIL = os.environ.get("GATE_VARIANT") == "fail"


def square(x):
    return x * x


def test_threads():
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(square, range(100))) == 328350
    lock = threading.Lock()
    counter = []

    def bump():
        for _ in range(1000):
            with lock:
                counter.append(1)

    workers = [threading.Thread(target=bump) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(counter) == 4000


def test_multiprocessing_pool():
    with multiprocessing.Pool(2) as pool:
        total = sum(pool.map(square, range(10)))
    assert total == (286 if FAIL else 285)


def test_subprocess():
    out = subprocess.run(["/bin/sh", "-c", "echo child $((6 * 7))"], check=True, capture_output=True, text=True)
    assert out.stdout == "child 42\n"


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from localhost"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_localhost_server():
    server = http.server.ThreadingHTTPServer(("localhost", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen("http://localhost:%d/" % port, timeout=10) as r:
            assert r.read() == b"hello from localhost"
    finally:
        server.shutdown()
