//! `ringmcp-report`: turns the JSON lines of benchmark runs into a Markdown report and two PNG
//! plots that put ringmcp beside its peers on the same axes:
//!
//! - `latency.png`: p50 and p99 latency (log) against offered load (log), from open-loop sweep
//!   runs only, one panel per transport, one colour per server (ringmcp, rmcp, the TypeScript
//!   SDK), solid p50 and dashed p99, points in offered-load order; a hollow marker is a point where
//!   the server served less than 95% of what was offered (saturated: latency there is queueing).
//! - `memory.png`: server memory added per idle connection (log) against connections (log), one
//!   series per server and transport, from idle-connection runs only.
//!
//! Input lines are either `bench/run.sh`'s `{"label": ..., "result": <one ringmcp-load --json
//! object>}` or `bench/peers/compare.sh`'s `{"comparison", "side", "server", "kind", "result"}`;
//! `kind` (`sweep`, `idle`, `closed`) is taken from the line or inferred (an open-loop echo run is
//! a sweep point, a label with "idle" an idle run). The server is ringmcp unless the label or
//! `server` starts with `rmcp` or `ts-sdk`. Every run goes in report.md's tables, one section per
//! input file, rounds of the same series and x reduced to their median; only `--input` files are
//! plotted, `--table` files are tabulated only (older runs, the million-session run).
//!
//! ```text
//! ringmcp-report --input sweep.jsonl --input peers.jsonl --table docs/bench/sessions.jsonl \
//!     --out docs/bench --title "2 vCPU VM, 2026-12-01: SECTIONS=\"sweep peers\" bench/run.sh ..."
//! ```

use clap::Parser;
use plotters::coord::Shift;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(name = "ringmcp-report")]
struct Args {
    /// JSON lines to plot and tabulate (bench/run.sh, bench/peers/compare.sh); repeatable.
    #[arg(long, required = true)]
    input: Vec<PathBuf>,
    /// JSON lines to tabulate only, not plot; repeatable.
    #[arg(long)]
    table: Vec<PathBuf>,
    /// Folder for report.md, latency.png and memory.png.
    #[arg(long)]
    out: PathBuf,
    /// Machine, date and command: the report's first line and a line under every plot's caption.
    #[arg(long, default_value = "ringmcp benchmark")]
    title: String,
    /// A TrueType font for the plots' text.
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    font: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Ringmcp,
    Rmcp,
    TsSdk,
}

impl Server {
    fn of(name: &str) -> Self {
        let n = name.trim().to_ascii_lowercase();
        if n.starts_with("rmcp") {
            Server::Rmcp
        } else if n.starts_with("ts-sdk") || n.starts_with("ts ") || n.starts_with("typescript") {
            Server::TsSdk
        } else {
            Server::Ringmcp
        }
    }

    fn name(self) -> &'static str {
        match self {
            Server::Ringmcp => "ringmcp",
            Server::Rmcp => "rmcp (Rust SDK)",
            Server::TsSdk => "TypeScript SDK",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            Server::Ringmcp => RGBColor(31, 119, 180),
            Server::Rmcp => RGBColor(230, 110, 0),
            Server::TsSdk => RGBColor(44, 160, 44),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Open loop at a fixed offered rate: x is the rate.
    Sweep,
    /// Idle connections (one request per connection every few seconds): x is connections.
    Idle,
    /// Idle sessions left behind in one process: x is connections.
    Sessions,
    /// Closed loop, listen, connect storms: x is connections.
    Other,
}

/// Which panel of the latency plot (and which line style of the memory plot) a run belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Tcp,
    HttpSession,
    HttpNoSession,
}

impl Route {
    fn of(result: &Value, name: &str) -> Self {
        let transport = result["transport"].as_str().unwrap_or("tcp");
        let workload = result["workload"].as_str().unwrap_or("echo");
        if transport != "http" {
            Route::Tcp
        } else if workload == "echo-modern" || name.contains("stateless") {
            Route::HttpNoSession
        } else {
            Route::HttpSession
        }
    }

    fn panel(self) -> &'static str {
        match self {
            Route::Tcp => "TCP, legacy session (newline-delimited)",
            Route::HttpSession => "HTTP, legacy session (peers: stateful)",
            Route::HttpNoSession => "HTTP, no session (ringmcp: 2026-07-28; peers: stateless)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Route::Tcp => "TCP",
            Route::HttpSession => "HTTP session",
            Route::HttpNoSession => "HTTP stateless",
        }
    }
}

struct Run {
    /// The table's series name: run.sh's label or compare.sh's server.
    label: String,
    server: Server,
    kind: Kind,
    path: Route,
    result: Value,
}

impl Run {
    fn x(&self) -> u64 {
        match self.kind {
            Kind::Sweep => self.result["open_loop_rate"]
                .as_f64()
                .unwrap_or(0.0)
                .round() as u64,
            _ => self.result["connections"].as_u64().unwrap_or(0),
        }
    }
}

struct Input {
    path: PathBuf,
    runs: Vec<Run>,
    /// compare.sh's lines for runs that failed: "server: why".
    failed: Vec<String>,
}

fn read(path: &Path) -> Result<Input, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut runs = Vec::new();
    let mut failed = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
        let name = v["server"]
            .as_str()
            .or_else(|| v["label"].as_str())
            .unwrap_or("unlabelled")
            .to_owned();
        if let Some(why) = v["failed"].as_str() {
            failed.push(format!(
                "{name} ({}): {why}",
                v["point"].as_str().unwrap_or("")
            ));
            continue;
        }
        let result = v["result"].clone();
        if !result.is_object() {
            continue;
        }
        let workload = result["workload"].as_str().unwrap_or("");
        let kind = match v["kind"].as_str() {
            Some("sweep") => Kind::Sweep,
            Some("idle") => Kind::Idle,
            Some(_) => Kind::Other,
            None if workload == "sessions" => Kind::Sessions,
            None if name.contains("idle") => Kind::Idle,
            None if result["open_loop_rate"].as_f64().unwrap_or(0.0) > 0.0
                && (workload == "echo" || workload == "echo-modern") =>
            {
                Kind::Sweep
            }
            None => Kind::Other,
        };
        runs.push(Run {
            server: Server::of(&name),
            path: Route::of(&result, &name),
            label: name,
            kind,
            result,
        });
    }
    Ok(Input {
        path: path.to_owned(),
        runs,
        failed,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The medians of a field over runs.
fn med(runs: &[&Run], get: impl Fn(&Value) -> Option<f64>) -> Option<f64> {
    median(runs.iter().filter_map(|r| get(&r.result)).collect())
}

fn lat(runs: &[&Run], q: &str) -> f64 {
    med(runs, |r| r["latency_us"][q].as_f64()).unwrap_or(0.0)
}

fn errors(runs: &[&Run]) -> u64 {
    runs.iter()
        .map(|r| {
            r.result["errors"].as_u64().unwrap_or(0) + r.result["rpc_errors"].as_u64().unwrap_or(0)
        })
        .sum()
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

/// Rounds of one series at one x, keyed so that tables come out grouped and ordered.
type Groups<'a, K> = BTreeMap<K, Vec<&'a Run>>;

fn tables(md: &mut String, input: &Input) {
    let _ = writeln!(md, "\n## `{}`\n", input.path.display());
    let mut sweep: Groups<(Route, Server, &str, u64)> = BTreeMap::new();
    let mut idle: Groups<(Server, Route, &str, u64)> = BTreeMap::new();
    let mut sessions: Groups<(&str, u64)> = BTreeMap::new();
    let mut other: Groups<(&str, u64)> = BTreeMap::new();
    for r in &input.runs {
        match r.kind {
            Kind::Sweep => sweep
                .entry((r.path, r.server, &r.label, r.x()))
                .or_default()
                .push(r),
            Kind::Idle => idle
                .entry((r.server, r.path, &r.label, r.x()))
                .or_default()
                .push(r),
            Kind::Sessions => sessions.entry((&r.label, r.x())).or_default().push(r),
            Kind::Other => other.entry((&r.label, r.x())).or_default().push(r),
        }
    }
    if !sweep.is_empty() {
        md.push_str("Open-loop sweep (requests due at the offered rate whatever the server does; latency from when each was due):\n\n");
        md.push_str("| path | server | offered req/s | connections | rounds | served req/s | p50 | p90 | p99 | p99.9 | max | errors | server CPU us/req |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for ((path, _, label, x), rs) in &sweep {
            let _ = writeln!(
                md,
                "| {} | {label} | {x} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
                path.short(),
                rs[0].result["connections"].as_u64().unwrap_or(0),
                rs.len(),
                med(rs, |r| r["req_per_s"].as_f64()).unwrap_or(0.0),
                lat(rs, "p50"),
                lat(rs, "p90"),
                lat(rs, "p99"),
                lat(rs, "p999"),
                lat(rs, "max"),
                errors(rs),
                opt(med(rs, |r| r["server_cpu_us_per_req"].as_f64()), |c| format!("{c:.2}")),
            );
        }
        md.push('\n');
    }
    if !idle.is_empty() {
        md.push_str("Idle connections, each with its session (RSS is the server's resident memory, all its processes; added = after connecting minus before):\n\n");
        md.push_str("| server | path | connections | rounds | RSS before KiB | RSS KiB | RSS added per connection | errors |\n|---|---|---|---|---|---|---|---|\n");
        for ((_, path, label, x), rs) in &idle {
            let _ = writeln!(
                md,
                "| {label} | {} | {x} | {} | {:.0} | {:.0} | {} | {} |",
                path.short(),
                rs.len(),
                med(rs, |r| r["server_rss_before_bytes"].as_f64()).unwrap_or(0.0) / 1024.0,
                med(rs, |r| r["server_rss_bytes"].as_f64()).unwrap_or(0.0) / 1024.0,
                opt(
                    med(rs, |r| r["server_rss_bytes_per_connection"].as_f64()),
                    |b| format!("{b:.0} B")
                ),
                errors(rs),
            );
        }
        md.push('\n');
    }
    if !sessions.is_empty() {
        md.push_str("Idle sessions left behind in one process (not plotted: sessions, not connections):\n\n");
        md.push_str("| series | connections | seconds | sessions | errors | server RSS MiB | RSS added per session |\n|---|---|---|---|---|---|---|\n");
        for ((label, x), rs) in &sessions {
            let _ = writeln!(
                md,
                "| {label} | {x} | {} | {} | {} | {:.0} | {} |",
                opt(med(rs, |r| r["duration_s"].as_f64()), |s| format!("{s:.0}")),
                opt(med(rs, |r| r["sessions"].as_f64()), |s| format!("{s:.0}")),
                errors(rs),
                med(rs, |r| r["server_rss_bytes"].as_f64()).unwrap_or(0.0) / (1024.0 * 1024.0),
                opt(
                    med(rs, |r| r["server_rss_bytes_per_session"].as_f64()),
                    |b| format!("{b:.0} B")
                ),
            );
        }
        md.push('\n');
    }
    if !other.is_empty() {
        md.push_str("Closed loop and other runs (medians over rounds; latency in microseconds; CPU is the server's user+system time per request):\n\n");
        md.push_str("| series | connections | rounds | req/s | p50 | p99 | p99.9 | max | errors | server CPU us/req | server RSS KiB | RSS added per connection |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for ((label, x), rs) in &other {
            let _ = writeln!(
                md,
                "| {label} | {x} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {:.0} | {} |",
                rs.len(),
                med(rs, |r| r["req_per_s"].as_f64()).unwrap_or(0.0),
                lat(rs, "p50"),
                lat(rs, "p99"),
                lat(rs, "p999"),
                lat(rs, "max"),
                errors(rs),
                opt(med(rs, |r| r["server_cpu_us_per_req"].as_f64()), |c| format!("{c:.2}")),
                med(rs, |r| r["server_rss_bytes"].as_f64()).unwrap_or(0.0) / 1024.0,
                opt(
                    med(rs, |r| r["server_rss_bytes_per_connection"].as_f64()),
                    |b| format!("{b:.0} B")
                ),
            );
        }
        md.push('\n');
    }
    for f in &input.failed {
        let _ = writeln!(md, "- failed: {f}");
    }
}

/// One point of a latency series: offered rate, p50, p99, and whether the server kept up.
struct SweepPoint {
    offered: f64,
    p50: f64,
    p99: f64,
    kept_up: bool,
    served: f64,
    /// No answer at all inside the measured window: no latency to plot.
    stalled: bool,
}

/// Powers of ten around `lo..hi` (both > 0), so that a log axis starts and ends on a decade.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    (
        10f64.powf(lo.max(1e-9).log10().floor()),
        10f64.powf(hi.max(1e-9).log10().ceil()),
    )
}

/// Whether a log axis labels this value: 1, 2 and 5 times a power of ten (the other key points
/// keep their grid line, unlabelled, so that labels do not run into each other).
fn nice(v: f64) -> bool {
    if v <= 0.0 {
        return false;
    }
    let m = v / 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|n| (m - n).abs() < 0.02 * n)
}

/// An axis label: only at 1, 2 and 5 times a power of ten.
fn axis(v: f64, f: fn(f64) -> String) -> String {
    if nice(v) {
        f(v)
    } else {
        String::new()
    }
}

fn fmt_us(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{} s", trim(v / 1_000_000.0))
    } else if v >= 1000.0 {
        format!("{} ms", trim(v / 1000.0))
    } else {
        format!("{} us", trim(v))
    }
}

fn fmt_count(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", trim(v / 1000.0))
    } else {
        trim(v)
    }
}

/// Decimal units (kB = 1000 B), so that the decades of a log axis are round numbers.
fn fmt_bytes(v: f64) -> String {
    if v >= 1e6 {
        format!("{} MB", trim(v / 1e6))
    } else if v >= 1000.0 {
        format!("{} kB", trim(v / 1000.0))
    } else {
        format!("{} B", trim(v))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

/// Caption lines at the top of a plot: the plot's own (larger), then `--title` and notes, each
/// wrapped at word boundaries to the plot's width.
fn header(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    lines: &[(&str, u32)],
) -> Result<u32, Box<dyn std::error::Error>> {
    let width = f64::from(root.dim_in_pixel().0) - 32.0;
    let mut y = 10i32;
    for &(text, size) in lines {
        // DejaVu Sans averages a little over half an em per character.
        let max = (width / (f64::from(size) * 0.56)).max(20.0) as usize;
        let mut line = String::new();
        let mut rows = Vec::new();
        for word in text.split(' ') {
            if !line.is_empty() && line.len() + 1 + word.len() > max {
                rows.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        rows.push(line);
        for row in rows {
            root.draw(&Text::new(
                row,
                (16, y),
                ("sans-serif", size).into_font().color(&BLACK),
            ))?;
            y += i32::try_from(size).unwrap_or(14) + 6;
        }
        y += 2;
    }
    Ok(u32::try_from(y).unwrap_or(0) + 6)
}

/// Two strokes side by side, in backend pixels.
type LegendMark<DB> =
    ComposedElement<(i32, i32), DB, PathElement<(i32, i32)>, PathElement<(i32, i32)>>;

/// A legend mark: a solid or a dashed stroke in the series' colour.
fn legend_mark<DB: DrawingBackend>(
    c: RGBColor,
    dashed: bool,
    (x, y): (i32, i32),
) -> LegendMark<DB> {
    let style = c.stroke_width(2);
    let (a, b) = if dashed { (7, 11) } else { (9, 9) };
    EmptyElement::at((x, y))
        + PathElement::new(vec![(0, 0), (a, 0)], style)
        + PathElement::new(vec![(b, 0), (18, 0)], style)
}

fn latency_plot(
    path: &Path,
    title: &str,
    runs: &[&Run],
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    // (panel, server) -> offered rate -> rounds
    let mut cells: BTreeMap<(Route, Server), BTreeMap<u64, Vec<&Run>>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.kind == Kind::Sweep) {
        cells
            .entry((r.path, r.server))
            .or_default()
            .entry(r.x())
            .or_default()
            .push(r);
    }
    if cells.is_empty() {
        return Ok(None);
    }
    let series: BTreeMap<(Route, Server), Vec<SweepPoint>> = cells
        .into_iter()
        .map(|(k, by_rate)| {
            let pts = by_rate
                .into_iter()
                .map(|(rate, rs)| {
                    let served = med(&rs, |r| r["req_per_s"].as_f64()).unwrap_or(0.0);
                    SweepPoint {
                        offered: rate as f64,
                        p50: lat(&rs, "p50").max(1.0),
                        p99: lat(&rs, "p99").max(1.0),
                        kept_up: served >= 0.95 * rate as f64,
                        stalled: served <= 0.0,
                        served,
                    }
                })
                .collect();
            (k, pts)
        })
        .collect();
    let mut panels: Vec<Route> = series.keys().map(|k| k.0).collect();
    panels.dedup();
    let all = series.values().flatten().filter(|p| !p.stalled);
    let (xlo, xhi, ylo, yhi) = all.fold((f64::MAX, 0f64, f64::MAX, 0f64), |a, p| {
        (
            a.0.min(p.offered),
            a.1.max(p.offered),
            a.2.min(p.p50),
            a.3.max(p.p99),
        )
    });
    let (xlo, xhi) = (xlo / 1.5, xhi * 1.3);
    let (ylo, yhi) = decades(ylo, yhi);

    let width = 40 + 560 * u32::try_from(panels.len()).unwrap_or(1);
    let root = BitMapBackend::new(path, (width, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = header(
        &root,
        &[
            ("MCP tools/call echo: p50 and p99 latency against offered load (open loop, log scales)", 22),
            (title, 14),
            ("Solid line, circles: p50; dashed line, triangles: p99. Hollow marker: the server served < 95% of the offered load (saturated; its latency is queueing). Latency from when each request was due.", 13),
        ],
    )?;
    let (_, body) = root.split_vertically(top);
    let areas = body.split_evenly((1, panels.len()));
    for (area, panel) in areas.iter().zip(&panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(
                if *panel == Route::HttpNoSession
                    && !series
                        .keys()
                        .any(|k| k.0 == *panel && k.1 != Server::Ringmcp)
                {
                    "HTTP, 2026-07-28 (no session; ringmcp only, the peers do not speak it)"
                } else {
                    panel.panel()
                },
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((xlo..xhi).log_scale(), (ylo..yhi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("offered load (requests/s)")
            .y_desc("latency")
            .x_labels(30)
            .y_labels(30)
            .x_label_formatter(&|v| axis(*v, fmt_count))
            .y_label_formatter(&|v| axis(*v, fmt_us))
            .label_style(("sans-serif", 13))
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for ((p, server), pts) in &series {
            if p != panel {
                continue;
            }
            let c = server.color();
            let pts: Vec<&SweepPoint> = pts.iter().filter(|p| !p.stalled).collect();
            let p50: Vec<(f64, f64)> = pts.iter().map(|p| (p.offered, p.p50)).collect();
            let p99: Vec<(f64, f64)> = pts.iter().map(|p| (p.offered, p.p99)).collect();
            chart
                .draw_series(LineSeries::new(p50, c.stroke_width(2)))?
                .label(format!("{} p50", server.name()))
                .legend(move |p| legend_mark(c, false, p));
            chart
                .draw_series(DashedLineSeries::new(p99, 9, 6, c.stroke_width(2)))?
                .label(format!("{} p99", server.name()))
                .legend(move |p| legend_mark(c, true, p));
            for p in pts {
                let style = if p.kept_up {
                    c.filled()
                } else {
                    c.stroke_width(2)
                };
                chart.draw_series(std::iter::once(Circle::new((p.offered, p.p50), 5, style)))?;
                chart.draw_series(std::iter::once(TriangleMarker::new(
                    (p.offered, p.p99),
                    6,
                    style,
                )))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
    }
    root.present()?;
    // A sentence for report.md: each server's highest offered load it kept up with, per panel.
    let mut text = String::new();
    for ((panel, server), pts) in &series {
        // Up to the first rate it fell behind at (a noisy machine may let a higher one pass).
        let kept: Vec<&SweepPoint> = pts.iter().take_while(|p| p.kept_up).collect();
        let _ = write!(text, "- {}, {}: ", panel.short(), server.name());
        match kept.last() {
            Some(p) => {
                let _ = write!(
                    text,
                    "kept up to {} req/s offered (p50 {}, p99 {})",
                    fmt_count(p.offered),
                    fmt_us(p.p50),
                    fmt_us(p.p99)
                );
            }
            None => text.push_str("kept up with none of the offered loads"),
        }
        if let Some(p) = pts.iter().find(|p| !p.kept_up) {
            if p.stalled {
                let _ = write!(
                    text,
                    "; at {} req/s offered it answered nothing inside the measured window",
                    fmt_count(p.offered)
                );
            } else {
                let _ = write!(
                    text,
                    "; saturated at {} req/s offered (served {}, p50 {}, p99 {})",
                    fmt_count(p.offered),
                    fmt_count(p.served),
                    fmt_us(p.p50),
                    fmt_us(p.p99)
                );
            }
        }
        text.push('\n');
    }
    Ok(Some(text))
}

fn memory_plot(
    path: &Path,
    title: &str,
    runs: &[&Run],
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let mut cells: BTreeMap<(Server, Route), BTreeMap<u64, Vec<&Run>>> = BTreeMap::new();
    // A run with errors (connections refused or reset) measured something else: table only.
    for r in runs
        .iter()
        .filter(|r| r.kind == Kind::Idle && errors(std::slice::from_ref(r)) == 0)
    {
        cells
            .entry((r.server, r.path))
            .or_default()
            .entry(r.x())
            .or_default()
            .push(r);
    }
    let series: BTreeMap<(Server, Route), Vec<(f64, f64)>> = cells
        .into_iter()
        .map(|(k, by_n)| {
            let pts = by_n
                .into_iter()
                .filter_map(|(n, rs)| {
                    med(&rs, |r| r["server_rss_bytes_per_connection"].as_f64())
                        .filter(|b| *b > 0.0)
                        .map(|b| (n as f64, b))
                })
                .collect::<Vec<_>>();
            (k, pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let all = series.values().flatten();
    let (xlo, xhi, ylo, yhi) = all.fold((f64::MAX, 0f64, f64::MAX, 0f64), |a, p| {
        (a.0.min(p.0), a.1.max(p.0), a.2.min(p.1), a.3.max(p.1))
    });
    let (xlo, xhi) = (xlo / 1.5, xhi * 1.3);
    let (ylo, yhi) = decades(ylo, yhi);
    let root = BitMapBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = header(
        &root,
        &[
            ("Server memory per idle connection, each with its session (log scales)", 22),
            (title, 14),
            ("RSS after connecting N minus before, / N; each connection sends one tools/call echo every 30 s. Solid: HTTP (peers: stateful sessions); dashed: TCP.", 13),
            ("Runs with connection errors are left out (report.md's tables list them); the one-million-session run (sessions, not connections) is a table line in report.md.", 13),
        ],
    )?;
    let (_, body) = root.split_vertically(top);
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d((xlo..xhi).log_scale(), (ylo..yhi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("idle connections")
        .y_desc("server memory added per connection (1 kB = 1000 B)")
        .x_labels(30)
        .y_labels(30)
        .x_label_formatter(&|v| axis(*v, fmt_count))
        .y_label_formatter(&|v| axis(*v, fmt_bytes))
        .label_style(("sans-serif", 13))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for ((server, p), pts) in &series {
        let c = server.color();
        let dashed = *p == Route::Tcp;
        let label = format!("{} {}", server.name(), p.short());
        if dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 9, 6, c.stroke_width(2)))?
                .label(label)
                .legend(move |p| legend_mark(c, true, p));
            chart.draw_series(pts.iter().map(|&q| TriangleMarker::new(q, 6, c.filled())))?;
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                .label(label)
                .legend(move |p| legend_mark(c, false, p));
            chart.draw_series(pts.iter().map(|&q| Circle::new(q, 5, c.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::MiddleRight)
        .draw()?;
    root.present()?;
    let mut text = String::new();
    for ((server, p), pts) in &series {
        let _ = writeln!(
            text,
            "- {} {}: {}",
            server.name(),
            p.short(),
            pts.iter()
                .map(|(n, b)| format!("{} B at {}", b.round(), fmt_count(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(Some(text))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let font = std::fs::read(&args.font).map_err(|e| {
        format!(
            "font {}: {e} (install fonts-dejavu-core or pass --font)",
            args.font.display()
        )
    })?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "the font is not a TrueType font")?;
    let plotted = args
        .input
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let tabled = args
        .table
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(&args.out)?;

    let mut md = format!("# {}\n\n", args.title);
    let runs: Vec<&Run> = plotted.iter().flat_map(|i| &i.runs).collect();
    if let Some(summary) = latency_plot(&args.out.join("latency.png"), &args.title, &runs)? {
        md.push_str("![p50 and p99 latency against offered load, ringmcp beside rmcp and the TypeScript SDK](latency.png)\n\n");
        md.push_str("Open-loop sweep (medians over rounds):\n\n");
        md.push_str(&summary);
        md.push('\n');
    }
    if let Some(summary) = memory_plot(&args.out.join("memory.png"), &args.title, &runs)? {
        md.push_str("![server memory per idle connection against connections](memory.png)\n\n");
        md.push_str("Server memory added per idle connection (medians over rounds):\n\n");
        md.push_str(&summary);
        md.push('\n');
    }
    md.push_str("# Tables\n\nPlotted: ");
    md.push_str(
        &args
            .input
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !args.table.is_empty() {
        md.push_str("; tabulated only (earlier runs, their own dates): ");
        md.push_str(
            &args
                .table
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    md.push_str(".\n");
    for input in plotted.iter().chain(&tabled) {
        tables(&mut md, input);
    }
    std::fs::write(args.out.join("report.md"), md)?;
    println!("wrote {}", args.out.join("report.md").display());
    Ok(())
}
