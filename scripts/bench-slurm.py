#!/usr/bin/env python3
"""The Slurm benchmark's driver (run by scripts/bench-slurm.sh, which sets up
the cluster, the server and a throwaway user).

1. Submit to ready: a JupyterLab session on Slurm through Atelier (POST
   /api/v1/sessions until GET /s/{id}/api/status answers 200 through the
   proxy and the gate) against the same JupyterLab submitted by hand with
   sbatch (until its socket answers /api/status), alternating, in one run.
2. Slurm commands per minute Atelier issues with 0, 10 and 100 light
   sessions running on the cluster (from GET /api/v1/clusters).

Prints a table, writes bench.json, and ends with `bench-slurm: N passed, M failed`.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


class Api:
    def __init__(self, base, token):
        self.base = base
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                text = reply.read()
                status = reply.status
        except urllib.error.HTTPError as error:
            text, status = error.read(), error.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def wait(self, what, check, limit=180.0, every=0.025):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(every)
        raise RuntimeError(f"timed out waiting for {what}")


def session_state(api, sid):
    status, session = api.call("GET", f"/api/v1/sessions/{sid}")
    if status != 200:
        raise RuntimeError(f"GET session: {status} {session}")
    if session["state"] == "failed":
        raise RuntimeError(f"session failed: {session['error']}")
    return session["state"]


def atelier_start(api, body):
    """Seconds from the request to the first 200 of /api/status through the proxy."""
    started = time.monotonic()
    status, session = api.call("POST", "/api/v1/sessions", body)
    if status != 201:
        raise RuntimeError(f"POST session: {status} {session}")
    sid = session["id"]
    api.wait("running", lambda: session_state(api, sid) == "running")
    api.wait("the proxy", lambda: api.call("GET", f"/s/{sid}/api/status")[0] == 200)
    return time.monotonic() - started, sid


def stop_all(api, ids):
    for sid in ids:
        api.call("POST", f"/api/v1/sessions/{sid}/stop", {})
    for sid in ids:
        api.wait("stopped", lambda: session_state(api, sid) in ("stopped", "failed"), limit=120)
        api.call("DELETE", f"/api/v1/sessions/{sid}")


def unix_status(path, token):
    """Whether JupyterLab answers /api/status on its unix socket."""
    try:
        conn = http.client.HTTPConnection("localhost", timeout=2)
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(2)
        sock.connect(path)
        conn.sock = sock
        conn.request("GET", "/api/status", headers={"Authorization": "token " + token})
        return conn.getresponse().status == 200
    except OSError:
        return False


def by_hand_start(args, round_no):
    """Seconds from sbatch to the first 200 of /api/status on the socket."""
    home = args.home
    sock = os.path.join(home, f"byhand-{round_no}.sock")
    token = os.urandom(16).hex()
    script = (
        "#!/bin/sh\n"
        f"export JUPYTER_TOKEN={token} HOME={home} PATH=/usr/bin:/bin\n"
        f"exec {args.jupyter} lab --no-browser --ServerApp.sock={sock} "
        "--ServerApp.sock_mode=0600 --ServerApp.quit_button=False "
        f"--IdentityProvider.token={token}\n"
    )
    sbatch = [
        "runuser", "-u", args.user, "--", "env", f"SLURM_CONF={args.slurm_conf}",
        "sbatch", "--parsable", f"--job-name=byhand-{round_no}", "--ntasks=1",
        "--cpus-per-task=1", "--mem=1024M", "--partition=debug", f"--chdir={home}",
        f"--output={home}/byhand-{round_no}.log", "--export=NONE",
    ]
    started = time.monotonic()
    out = subprocess.run(sbatch, input=script.encode(), capture_output=True, check=True)
    job = out.stdout.decode().strip().split(";")[0]
    deadline = started + 180
    while not unix_status(sock, token):
        if time.monotonic() > deadline:
            raise RuntimeError("JupyterLab by hand did not answer")
        time.sleep(0.025)
    elapsed = time.monotonic() - started
    env = dict(os.environ, SLURM_CONF=args.slurm_conf)
    subprocess.run(["scancel", job], env=env, check=False)
    wait_gone(job, env)
    return elapsed


def wait_gone(job, env):
    for _ in range(600):
        out = subprocess.run(["squeue", "--noheader", "-j", job, "-o", "%T"],
                             env=env, capture_output=True, text=True)
        if out.stdout.strip() in ("", "COMPLETED", "CANCELLED", "FAILED"):
            return
        time.sleep(0.1)


def commands_run(api):
    status, body = api.call("GET", "/api/v1/clusters")
    hpc = next(c for c in body["clusters"] if c["name"] == "hpc")
    return hpc["commands_run"]


def commands_per_minute(api, count, window):
    """Starts `count` light sessions on Slurm, then counts commands over `window` s."""
    ids = []
    for _ in range(count):
        status, session = api.call("POST", "/api/v1/sessions",
                                   {"kind": "light", "cluster": "hpc", "queue": "shared",
                                    "profile": "tiny"})
        if status != 201:
            raise RuntimeError(f"POST light session: {status} {session}")
        ids.append(session["id"])
    for sid in ids:
        api.wait("running", lambda: session_state(api, sid) == "running", limit=300, every=0.2)
    before = commands_run(api)
    time.sleep(window)
    after = commands_run(api)
    # GET /clusters itself may run sinfo (cached for 30 s): at most one.
    rate = (after - before) * 60.0 / window
    stop_all(api, ids)
    return rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--jupyter", required=True)
    parser.add_argument("--slurm-conf", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--counts", default="0,10,100")
    args = parser.parse_args()
    api = Api(args.url, os.environ["ATELIER_BENCH_TOKEN"])
    passed, failed, figures = 0, 0, {}

    try:
        atelier, by_hand = [], []
        for round_no in range(args.rounds):
            seconds, sid = atelier_start(api, {"kind": "jupyterlab", "cluster": "hpc",
                                               "queue": "debug"})
            atelier.append(seconds)
            stop_all(api, [sid])
            by_hand.append(by_hand_start(args, round_no))
        figures["start"] = {
            "atelier_s": atelier, "by_hand_s": by_hand,
            "atelier_median_s": statistics.median(atelier),
            "by_hand_median_s": statistics.median(by_hand),
        }
        passed += 1
    except Exception as error:  # a case that cannot run is reported, not hidden
        print(f"start case failed: {error}", file=sys.stderr)
        failed += 1

    rates = {}
    for count in [int(c) for c in args.counts.split(",")]:
        try:
            rates[str(count)] = commands_per_minute(api, count, args.window)
            passed += 1
        except Exception as error:
            print(f"commands case with {count} sessions failed: {error}", file=sys.stderr)
            failed += 1
    figures["commands_per_minute"] = rates

    print()
    print("Slurm: submit to ready of JupyterLab (seconds, median of %d)" % args.rounds)
    if "start" in figures:
        s = figures["start"]
        overhead = s["atelier_median_s"] - s["by_hand_median_s"]
        print(f"  {'Atelier (through the proxy and gate)':<40} {s['atelier_median_s']:6.2f}")
        print(f"  {'sbatch by hand (unix socket)':<40} {s['by_hand_median_s']:6.2f}")
        print(f"  {'Atelier overhead':<40} {overhead:6.2f}")
        s["overhead_s"] = overhead
    print("Slurm commands Atelier issues per minute")
    for count, rate in rates.items():
        print(f"  {count:>4} sessions running: {rate:6.1f}")
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "bench.json"), "w") as out:
        json.dump(figures, out, indent=2)
    print(f"figures: {os.path.join(args.results, 'bench.json')}")
    print(f"bench-slurm: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
