#!/usr/bin/env python3
"""Sessions surviving a node's death, measured with Python's own HTTP client (not ringmcp-load).

Opens SESSIONS legacy (2025-06-18) sessions through the load balancer at FRONT over THREADS
keep-alive connections (initialize, notifications/initialized, one tools/call each), reads Redis's
memory per session, kills the node process KILL_PID with SIGKILL, then gives every session one
more tools/call (retrying a failed request until it succeeds or 10 s pass). Prints one JSON object:
sessions opened, sessions that went on, requests that failed after the kill, how long each
session's first request after the kill took to succeed (retries included), Redis bytes per
session and Redis CPU per 1,000 sessions opened.

    bench/cluster_survive.py FRONT_PORT REDIS_PORT KILL_PID [SESSIONS=10000] [THREADS=200]
"""
import json
import os
import signal
import socket
import statistics
import sys
import threading
import time

from mcp_http import Conn

front, redis_port, kill_pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sessions = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 200
VERSION = "2025-06-18"


def redis_info(section):
    with socket.create_connection(("127.0.0.1", redis_port)) as s:
        s.sendall(b"INFO " + section.encode() + b"\r\n")
        f = s.makefile("rb")
        size = int(f.readline()[1:])
        text = f.read(size).decode(errors="replace")
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def redis_used_memory():
    return int(redis_info("memory")["used_memory"])


def redis_cpu_s():
    """Redis's CPU time so far (user + system, main thread and the rest), in seconds."""
    info = redis_info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def call(n):
    return {"jsonrpc": "2.0", "id": n, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}}}


def ok(status, data):
    return status == 200 and b'"result"' in data


opened = [[] for _ in range(threads)]
open_errors = [0] * threads


def open_sessions(t, count):
    c = Conn(front, VERSION)
    for i in range(count):
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": VERSION, "capabilities": {},
                           "clientInfo": {"name": "survive", "version": "1"}}}
        status, sid, data = c.post(init)
        if status != 200 or not sid:
            open_errors[t] += 1
            continue
        c.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        status, _, data = c.post(call(2), sid)
        if ok(status, data):
            opened[t].append(sid)
        else:
            open_errors[t] += 1


after = [[] for _ in range(threads)]
failed = [0] * threads
lost = [0] * threads


def go_on(t, killed_at):
    c = Conn(front, VERSION)
    for sid in opened[t]:
        start = time.monotonic()
        while True:
            status, _, data = c.post(call(3), sid)
            if ok(status, data):
                now = time.monotonic()
                after[t].append((now - start, now - killed_at))
                break
            failed[t] += 1
            if time.monotonic() - start > 10:
                lost[t] += 1
                break
            time.sleep(0.01)


def run(target, *args):
    ts = [threading.Thread(target=target, args=(t, *args)) for t in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()


mem0 = redis_used_memory()
cpu0 = redis_cpu_s()
t0 = time.monotonic()
per = [sessions // threads + (1 if t < sessions % threads else 0) for t in range(threads)]
ts = [threading.Thread(target=open_sessions, args=(t, per[t])) for t in range(threads)]
for th in ts:
    th.start()
for th in ts:
    th.join()
open_s = time.monotonic() - t0
mem1 = redis_used_memory()
cpu1 = redis_cpu_s()
n_open = sum(len(o) for o in opened)

os.kill(kill_pid, signal.SIGKILL)
killed_at = time.monotonic()
run(go_on, killed_at)
took = sorted(x[0] for a in after for x in a)
since_kill = sorted(x[1] for a in after for x in a)
print(json.dumps({
    "sessions_opened": n_open,
    "open_errors": sum(open_errors),
    "open_seconds": round(open_s, 2),
    "sessions_survived": len(took),
    "sessions_lost": sum(lost),
    "failed_requests_after_kill": sum(failed),
    "first_request_ms_median": round(statistics.median(took) * 1000, 2) if took else None,
    "first_request_ms_p99": round(took[int(len(took) * 0.99) - 1] * 1000, 2) if took else None,
    "first_request_ms_max": round(took[-1] * 1000, 2) if took else None,
    "first_success_after_kill_ms": round(since_kill[0] * 1000, 2) if since_kill else None,
    "all_sessions_done_after_kill_s": round(since_kill[-1], 2) if since_kill else None,
    "redis_bytes_per_session": round((mem1 - mem0) / n_open) if n_open else None,
    # Opening a session is initialize, notifications/initialized and one tools/call.
    "redis_cpu_ms_per_1000_sessions": round((cpu1 - cpu0) * 1000 / n_open * 1000, 1) if n_open else None,
}))
