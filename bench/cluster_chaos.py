#!/usr/bin/env python3
"""Chaos: three cluster nodes behind HAProxy, one of them killed (SIGKILL) and restarted every few
seconds while clients work, measured with Python's own HTTP client (not ringmcp-load).

Starts the three nodes itself (so that it can restart them), on NODE_PORTS, in cluster mode on
Redis at REDIS_PORT; HAProxy must already front them on FRONT_PORT. Then, for DURATION seconds:

- WORKERS legacy (2025-11-25) sessions each send `tools/call echo` in a loop through HAProxy, on
  keep-alive connections: every request's time, status and latency is recorded;
- STREAMS legacy sessions subscribed to `demo://counter` hold GET streams through HAProxy; when a
  stream breaks (its node died) the client reconnects at once with `Last-Event-ID`;
- one more session calls `bump` every 50 ms (each changes `demo://counter`);
- every PERIOD seconds a random node is killed with SIGKILL and started again one second later
  (under a new node id: the old one stays leased for up to 5 s).

At the end it compares what each stream received with the cluster's notice log in Redis (every
notice logged must reach every stream exactly once), and prints one JSON object: sessions lost
(a request answered 404), stream events lost and duplicated, the error rate, latency medians, the
kills. It writes the timeline (per second: requests, errors, p50 and p99 latency) as CSV and as
an SVG plot into OUT_DIR.

    bench/cluster_chaos.py BIN FRONT_PORT REDIS_PORT P1,P2,P3 OUT_DIR
        [DURATION=120] [PERIOD=6] [WORKERS=24] [STREAMS=20]

The cluster key comes from RINGMCP_CLUSTER_KEY, as for the nodes.
"""
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from mcp_http import Conn

BIN, FRONT, REDIS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
NODE_PORTS = [int(p) for p in sys.argv[4].split(",")]
OUT = sys.argv[5]
DURATION = float(sys.argv[6]) if len(sys.argv) > 6 else 120.0
PERIOD = float(sys.argv[7]) if len(sys.argv) > 7 else 6.0
WORKERS = int(sys.argv[8]) if len(sys.argv) > 8 else 24
STREAMS = int(sys.argv[9]) if len(sys.argv) > 9 else 20
VERSION = "2025-11-25"
stop = threading.Event()
# Streams read on for a while after the load stops, so that the last notices reach them.
streams_stop = threading.Event()
t0 = time.monotonic()


def redis(*args):
    """One command to Redis; the reply as Python values (enough RESP2 for XRANGE and INFO)."""
    with socket.create_connection(("127.0.0.1", REDIS)) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")

        def read():
            line = f.readline()
            kind, rest = line[:1], line[1:-2]
            if kind in (b"+", b"-"):
                return rest.decode()
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                if n < 0:
                    return None
                data = f.read(n + 2)[:-2]
                return data.decode(errors="replace")
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            raise RuntimeError(f"unexpected reply {line!r}")

        return read()


class Node:
    def __init__(self, index, port, log_dir):
        self.index, self.port, self.log_dir = index, port, log_dir
        self.generation = 0
        self.proc = None

    def start(self):
        self.generation += 1
        node_id = f"n{self.index + 1}" + (f"r{self.generation - 1}" if self.generation > 1 else "")
        log = open(os.path.join(self.log_dir, f"node-{self.port}.log"), "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--cores", "1", "--http", f"127.0.0.1:{self.port}",
             "--cluster", f"redis://127.0.0.1:{REDIS}", "--node-id", node_id],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"node on {self.port} exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"node on {self.port} not ready")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


def open_session(conn):
    """initialize + initialized, retried until it works (nodes may be down at that moment)."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {},
        "clientInfo": {"name": "chaos", "version": "1"}}}
    while not stop.is_set():
        status, sid, _ = conn.post(init)
        if status == 200 and sid:
            status, _, _ = conn.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
            if status == 202:
                return sid
        time.sleep(0.05)
    return None


samples = []  # (seconds since start, latency in ms, status or None)
samples_lock = threading.Lock()
lost_sessions = []


def worker(n):
    conn = Conn(FRONT, VERSION)
    sid = open_session(conn)
    i = 0
    while not stop.is_set() and sid:
        i += 1
        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": f"w{n}-{i}"}}}
        began = time.monotonic()
        status, _, _ = conn.post(body, sid)
        took = (time.monotonic() - began) * 1000
        with samples_lock:
            samples.append((began - t0, took, status))
        if status == 404:
            lost_sessions.append(sid)
            sid = open_session(conn)


class Stream(threading.Thread):
    """A subscribed session's GET stream, resumed with Last-Event-ID whenever it breaks."""

    def __init__(self):
        super().__init__(daemon=True)
        conn = Conn(FRONT, VERSION)
        self.sid = open_session(conn)
        sub = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
               "params": {"uri": "demo://counter"}}
        while conn.post(sub, self.sid)[0] != 200:
            time.sleep(0.05)
        self.got = []  # event ids, in arrival order
        self.last = None
        self.reconnects = 0
        self.lost = False
        self.connected = threading.Event()

    def run(self):
        while not streams_stop.is_set() and not self.lost:
            headers = {"Accept": "text/event-stream", "Mcp-Session-Id": self.sid,
                       "MCP-Protocol-Version": VERSION}
            if self.last:
                headers["Last-Event-ID"] = self.last
            try:
                c = http.client.HTTPConnection("127.0.0.1", FRONT, timeout=30)
                c.request("GET", "/mcp", headers=headers)
                r = c.getresponse()
                if r.status == 404:
                    self.lost = True
                    return
                if r.status != 200:
                    r.read()
                    time.sleep(0.05)
                    continue
                self.connected.set()
                event_id = None
                while not streams_stop.is_set():
                    line = r.readline()
                    if not line:
                        break
                    line = line.decode().rstrip("\r\n")
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line == "" and event_id:
                        self.got.append(event_id)
                        self.last = event_id
                        event_id = None
                c.close()
            except (OSError, http.client.HTTPException):
                pass
            if not streams_stop.is_set():
                self.reconnects += 1
                time.sleep(0.02)


def bumper(counts):
    conn = Conn(FRONT, VERSION)
    sid = open_session(conn)
    i = 0
    while not stop.is_set():
        i += 1
        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": {"name": "bump", "arguments": {}}}
        status, _, _ = conn.post(body, sid)
        counts["ok" if status == 200 else "failed"] += 1
        time.sleep(0.05)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def svg(rows, kills, path):
    """Errors per second and p99 latency over time, with the kills marked."""
    w, h, pad = 900, 360, 50
    end = max([r[0] for r in rows] + [1])
    max_err = max([r[2] for r in rows] + [1])
    max_p99 = max([r[4] for r in rows] + [1])
    x = lambda t: pad + (w - 2 * pad) * t / end
    y_err = lambda v: h - pad - (h - 2 * pad) * v / max_err
    y_lat = lambda v: h - pad - (h - 2 * pad) * v / max_p99
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">seconds</text>',
           f'<text x="{pad}" y="{pad - 20}" fill="crimson">errors/s (max {max_err})</text>',
           f'<text x="{w - pad}" y="{pad - 20}" text-anchor="end" fill="navy">p99 latency (max {max_p99:.1f} ms)</text>']
    for t in kills:
        out.append(f'<line x1="{x(t):.1f}" y1="{pad}" x2="{x(t):.1f}" y2="{h - pad}" stroke="#bbb" stroke-dasharray="3,3"/>')
    for tick in range(0, int(end) + 1, 10):
        out.append(f'<text x="{x(tick):.1f}" y="{h - pad + 14}" text-anchor="middle">{tick}</text>')
    err = " ".join(f"{x(r[0]):.1f},{y_err(r[2]):.1f}" for r in rows)
    lat = " ".join(f"{x(r[0]):.1f},{y_lat(r[4]):.1f}" for r in rows)
    out.append(f'<polyline points="{lat}" fill="none" stroke="navy"/>')
    out.append(f'<polyline points="{err}" fill="none" stroke="crimson"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    os.makedirs(OUT, exist_ok=True)
    nodes = [Node(i, p, OUT) for i, p in enumerate(NODE_PORTS)]
    for n in nodes:
        n.start()
    time.sleep(1)  # HAProxy's checks see them up
    streams = [Stream() for _ in range(STREAMS)]
    for s in streams:
        s.start()
    for s in streams:
        s.connected.wait(10)
    logged_before = redis("XLEN", "ringmcp:notices") or 0
    global t0
    t0 = time.monotonic()
    counts = {"ok": 0, "failed": 0}
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(WORKERS)]
    threads.append(threading.Thread(target=bumper, args=(counts,), daemon=True))
    for t in threads:
        t.start()
    kills = []
    rng = random.Random(7)
    next_kill = PERIOD
    while time.monotonic() - t0 < DURATION:
        if time.monotonic() - t0 >= next_kill:
            victim = rng.choice(nodes)
            kills.append(round(time.monotonic() - t0, 2))
            victim.kill()
            time.sleep(1)
            victim.start()
            next_kill += PERIOD
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(15)
    time.sleep(2)  # the last notices reach the streams
    streams_stop.set()
    entries = redis("XRANGE", "ringmcp:notices", "-", "+")
    log_ids = [e[0] for e in entries][logged_before:] if entries else []
    for n in nodes:
        n.stop()

    missing, duplicated = [], []
    for s in streams:
        got = [i.split(":", 1)[1] for i in s.got]
        missing.append(len(set(log_ids) - set(got)))
        duplicated.append(len(got) - len(set(got)))
    with samples_lock:
        rows_in = list(samples)
    total = len(rows_in)
    errors = sum(1 for s in rows_in if s[2] != 200)
    lat_ok = [s[1] for s in rows_in if s[2] == 200]
    rows = []
    for sec in range(int(DURATION) + 1):
        in_sec = [s for s in rows_in if sec <= s[0] < sec + 1]
        ok = [s[1] for s in in_sec if s[2] == 200]
        rows.append((sec, len(in_sec), len(in_sec) - len(ok),
                     percentile(ok, 0.5), percentile(ok, 0.99)))
    with open(os.path.join(OUT, "chaos.csv"), "w") as f:
        f.write("second,requests,errors,p50_ms,p99_ms\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]:.2f},{r[4]:.2f}\n")
    svg(rows, kills, os.path.join(OUT, "chaos.svg"))
    print(json.dumps({
        "duration_s": DURATION, "kills": len(kills), "kill_times_s": kills,
        "workers": WORKERS, "requests": total, "errors": errors,
        "error_rate": round(errors / total, 5) if total else None,
        "sessions_lost": len(lost_sessions),
        "latency_ms": {"p50": round(percentile(lat_ok, 0.5), 2),
                       "p99": round(percentile(lat_ok, 0.99), 2),
                       "max": round(max(lat_ok), 2) if lat_ok else None},
        "bumps": counts, "notices_logged": len(log_ids),
        "streams": STREAMS, "streams_lost": sum(1 for s in streams if s.lost),
        "stream_events_missing": sum(missing), "stream_events_duplicated": sum(duplicated),
        "stream_reconnects": sum(s.reconnects for s in streams),
        "events_per_stream": statistics.median([len(s.got) for s in streams]) if streams else 0,
    }))


if __name__ == "__main__":
    main()
