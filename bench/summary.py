#!/usr/bin/env python3
"""One line of text for one `ringmcp-load --json` result: summary.py LABEL JSON (or JSON on stdin)."""
import json
import sys

label = sys.argv[1] if len(sys.argv) > 1 else ""
r = json.loads(sys.argv[2] if len(sys.argv) > 2 else sys.stdin.read())
lat = r["latency_us"]
cpu = r.get("server_cpu_us_per_req") or 0.0
per_conn = r.get("server_rss_bytes_per_connection") or 0.0
if r["workload"] == "sessions":
    # Idle sessions, not connections: the memory is per session left behind.
    per_conn = r.get("server_rss_bytes_per_session") or 0.0
what = "deliveries" if r["workload"] == "listen" else "req/s"
count = r.get("deliveries", 0) if r["workload"] == "listen" else r["req_per_s"]
print(
    f"{label:34} C={r['connections']:<6} P={r['processes']} {count:9.0f} {what} "
    f"p50 {lat['p50']:.0f} us p99 {lat['p99']:.0f} us p99.9 {lat['p999']:.0f} us max {lat['max']:.0f} us "
    f"errors {r['errors']}+{r['rpc_errors']} server CPU {cpu:.2f} us/req "
    f"RSS {r['server_rss_bytes'] // 1024} KiB ({per_conn:.0f} B/"
    f"{'session' if r['workload'] == 'sessions' else 'connection'}) set-up {r['setup_s']:.1f} s"
    + (f" sessions {r['sessions']}" if r.get("sessions") is not None else "")
)
