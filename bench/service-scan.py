#!/usr/bin/env python3
"""Scan throughput of the service on images that share a base.

N images (default 100) are the corpus `large` image (Debian base layer + ~380 packages
layer) plus one small layer of their own each, pushed as tags of one repository to a real
local registry. Through `keelhaul serve` (SQLite, in-process workers):

  T_base  fresh store: a task over the base image alone
  T_own   same store (base layers analysed): a task over the N derived images
  T_cold  fresh store: a task over the N derived images

A base layer must be analysed once per fleet, so T_cold should be close to T_base + T_own;
the target is T_cold <= 1.2 x (T_base + T_own).

    bench/service-scan.py [--images 100] [--workers 2] [--runs 1]

Needs: the corpus (../shared/bench/build-corpus.sh /tmp/keelhaul-corpus), docker-registry,
skopeo, umoci, and a release build (cargo build --release -p keelhaul).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, proc=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                sys.exit(f"{what} exited with {proc.returncode}")
            time.sleep(0.1)
    sys.exit(f"{what} did not start")


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


class Api:
    def __init__(self, port, key):
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.auth = f"Bearer {key['access_key_id']}:{key['access_key_secret']}"

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", self.auth)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)


def prepare_images(work, corpus, n):
    layout = os.path.join(work, "layout")
    marker = os.path.join(work, f"prepared-{n}")
    if os.path.exists(marker):
        return layout
    if os.path.isdir(layout):
        shutil.rmtree(layout)
    shutil.copytree(os.path.join(corpus, "oci", "large"), layout)
    payload = os.path.join(work, "payload")
    os.makedirs(payload, exist_ok=True)
    for i in range(n):
        own = os.path.join(payload, f"app{i}")
        os.makedirs(own, exist_ok=True)
        # An own layer: a small app (a config file and 256 KiB of data unique to it).
        with open(os.path.join(own, "app.conf"), "w") as f:
            f.write(f"name = app{i}\nport = {8000 + i}\n")
        with open(os.path.join(own, "data.bin"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        run("umoci", "tag", "--image", f"{layout}:latest", f"app{i}")
        run("umoci", "insert", "--image", f"{layout}:app{i}", own, f"/srv/app{i}")
    open(marker, "w").close()
    return layout


def start_registry(work):
    port = free_port()
    reg = os.path.join(work, "registry")
    os.makedirs(reg, exist_ok=True)
    config = os.path.join(reg, "config.yml")
    with open(config, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {reg}/data\n  redirect:\n    disable: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
    proc = subprocess.Popen(["docker-registry", "serve", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, "docker-registry", proc)
    return proc, port


def push(layout, port, n):
    dest = f"docker://127.0.0.1:{port}"
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:latest", f"{dest}/bench/base:latest")
    for i in range(n):
        run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:app{i}", f"{dest}/bench/app:v{i}")


class Server:
    def __init__(self, binary, workers, reg_port):
        self.dir = tempfile.mkdtemp(prefix="keelhaul-bench-store-")
        self.port = free_port()
        env = dict(os.environ, KEELHAUL_SERVER_KEY="11" * 32)
        key = json.loads(run(binary, "admin", "create-key", "--tenant", "bench", "--levels",
                             "read,list,write", "--data-dir", self.dir, "--format", "json", env=env))
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.dir,
             "--workers", str(workers), "--sync-interval", "0", "-q"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "serve.log"), "w"))
        wait_port(self.port, "keelhaul serve", self.proc)
        self.api = Api(self.port, key)
        reg = self.api.call("POST", "/registries", {"name": "local", "type": "docker",
                                                    "url": f"http://127.0.0.1:{reg_port}"})
        summary = self.api.call("POST", f"/registries/{reg['id']}/sync")
        if summary["errors"]:
            sys.exit(f"sync errors: {summary['errors']}")

    def task(self, repo):
        started = time.monotonic()
        task = self.api.call("POST", "/tasks", {"selectors": {"repo_names": repo}, "force": True})
        while task["status"] not in ("SUCCESS", "FAIL", "CANCELLED"):
            time.sleep(0.1)
            task = self.api.call("GET", f"/tasks/{task['id']}")
        elapsed = time.monotonic() - started
        if task["status"] != "SUCCESS" or task["failed"]:
            sys.exit(f"task over {repo} ended {task}")
        return elapsed, task["total"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--corpus", default="/tmp/keelhaul-corpus")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/keelhaul"))
    ap.add_argument("--prepare-only", action="store_true", help="build and push the images, time nothing")
    args = ap.parse_args()
    work = os.environ.get("WORK", "/tmp/keelhaul-bench-scan")
    os.makedirs(work, exist_ok=True)
    print(f"preparing {args.images} images on the corpus `large` image")
    layout = prepare_images(work, args.corpus, args.images)
    registry, reg_port = start_registry(work)
    try:
        push(layout, reg_port, args.images)
        if args.prepare_only:
            return
        for r in range(args.runs):
            warm = Server(args.binary, args.workers, reg_port)
            t_base, n_base = warm.task("bench/base")
            t_own, n_own = warm.task("bench/app")
            warm.stop()
            cold = Server(args.binary, args.workers, reg_port)
            t_cold, n_cold = cold.task("bench/app")
            cold.stop()
            assert n_base == 1 and n_own == n_cold == args.images
            ratio = t_cold / (t_base + t_own)
            print(f"run {r + 1}: T_base {t_base:.2f} s, T_own ({n_own} images, base known) {t_own:.2f} s, "
                  f"T_cold ({n_cold} images, fresh store) {t_cold:.2f} s -> "
                  f"T_cold / (T_base + T_own) = {ratio:.2f} (target <= 1.2); "
                  f"{n_cold / t_cold:.1f} images/s cold")
    finally:
        registry.terminate()


if __name__ == "__main__":
    main()
