//! `ringmcp-report`: turns the JSON lines of a benchmark run (`{"label": ..., "result": <one
//! ringmcp-load --json object>}` per line) into a Markdown report and PNG plots: latency against
//! throughput (one series per label, one point per connection count) and server memory against
//! connections. Labels group runs of one server and workload; rounds of the same label and
//! connection count are reduced to their median.
//!
//! ```text
//! ringmcp-report --input results.jsonl --out docs/bench --title "ringmcp, 2 vCPU VM, 2026-11-23"
//! ```

use clap::Parser;
use plotters::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "ringmcp-report")]
struct Args {
    /// JSON lines written by bench/run.sh.
    #[arg(long)]
    input: PathBuf,
    /// Folder for report.md, latency.png and memory.png.
    #[arg(long)]
    out: PathBuf,
    /// First line of the report (machine, date, command).
    #[arg(long, default_value = "ringmcp benchmark")]
    title: String,
    /// A TrueType font for the plots' text.
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    font: PathBuf,
}

/// The median of every measured field over the rounds of one (label, connections) cell.
#[derive(Debug, Clone, Default)]
struct Cell {
    rounds: usize,
    req_per_s: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    errors: u64,
    cpu_us: Option<f64>,
    rss: f64,
    /// Server memory added per connection (RSS after connecting minus before, per connection).
    per_connection: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn load(path: &PathBuf) -> Result<BTreeMap<String, BTreeMap<u64, Cell>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut raw: BTreeMap<String, BTreeMap<u64, Vec<Value>>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let label = v["label"].as_str().unwrap_or("unlabelled").to_owned();
        let r = v["result"].clone();
        let c = r["connections"].as_u64().unwrap_or(0);
        raw.entry(label).or_default().entry(c).or_default().push(r);
    }
    let f = |rs: &[Value], get: &dyn Fn(&Value) -> Option<f64>| {
        median(rs.iter().filter_map(get).collect())
    };
    Ok(raw
        .into_iter()
        .map(|(label, by_c)| {
            let cells = by_c
                .into_iter()
                .map(|(c, rs)| {
                    let cpu: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r["server_cpu_us_per_req"].as_f64())
                        .collect();
                    let cell = Cell {
                        rounds: rs.len(),
                        req_per_s: f(&rs, &|r| r["req_per_s"].as_f64()),
                        p50: f(&rs, &|r| r["latency_us"]["p50"].as_f64()),
                        p99: f(&rs, &|r| r["latency_us"]["p99"].as_f64()),
                        p999: f(&rs, &|r| r["latency_us"]["p999"].as_f64()),
                        max: f(&rs, &|r| r["latency_us"]["max"].as_f64()),
                        errors: rs
                            .iter()
                            .map(|r| {
                                r["errors"].as_u64().unwrap_or(0)
                                    + r["rpc_errors"].as_u64().unwrap_or(0)
                            })
                            .sum(),
                        cpu_us: (!cpu.is_empty()).then(|| median(cpu)),
                        rss: f(&rs, &|r| r["server_rss_bytes"].as_f64()),
                        per_connection: rs
                            .iter()
                            .any(|r| r["server_rss_bytes_per_connection"].is_number())
                            .then(|| f(&rs, &|r| r["server_rss_bytes_per_connection"].as_f64())),
                    };
                    (c, cell)
                })
                .collect();
            (label, cells)
        })
        .collect())
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type Series = Vec<(String, Vec<(f64, f64)>)>;

fn plot(
    path: &PathBuf,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &Series,
) -> Result<(), Box<dyn std::error::Error>> {
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (xmax, ymax) = points.fold((1.0f64, 1.0f64), |(x, y), &(px, py)| (x.max(px), y.max(py)));
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..xmax * 1.08, 0.0..ymax * 1.1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
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
    let data = load(&args.input)?;
    std::fs::create_dir_all(&args.out)?;

    let mut md = format!("# {}\n\n", args.title);
    md.push_str("Medians over rounds. Latency in microseconds; CPU is the server's user+system time per request; RSS is the server's resident memory (all its processes).\n\n");
    md.push_str("| series | connections | rounds | req/s | p50 | p99 | p99.9 | max | errors | server CPU us/req | server RSS KiB | RSS added per connection |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (label, cells) in &data {
        for (c, cell) in cells {
            md.push_str(&format!(
                "| {label} | {c} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {:.0} | {} |\n",
                cell.rounds,
                cell.req_per_s,
                cell.p50,
                cell.p99,
                cell.p999,
                cell.max,
                cell.errors,
                cell.cpu_us.map_or("-".into(), |c| format!("{c:.2}")),
                cell.rss / 1024.0,
                cell.per_connection.map_or("-".into(), |b| format!("{b:.0} B")),
            ));
        }
    }
    let latency: Series = data
        .iter()
        .filter(|(_, cells)| cells.len() > 1 && cells.values().any(|c| c.req_per_s > 0.0))
        .map(|(label, cells)| {
            let mut pts: Vec<(f64, f64)> = cells.values().map(|c| (c.req_per_s, c.p99)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (format!("{label} p99"), pts)
        })
        .collect();
    let memory: Series = data
        .iter()
        .filter(|(label, cells)| label.contains("idle") && cells.values().all(|c| c.rss > 0.0))
        .map(|(label, cells)| {
            (
                label.clone(),
                cells
                    .iter()
                    .map(|(&c, cell)| (c as f64, cell.rss / (1024.0 * 1024.0)))
                    .collect(),
            )
        })
        .collect();
    if !latency.is_empty() {
        plot(
            &args.out.join("latency.png"),
            "p99 latency against throughput (one point per connection count)",
            "requests per second",
            "p99 latency (us)",
            &latency,
        )?;
        md.push_str("\n![latency against throughput](latency.png)\n");
    }
    if !memory.is_empty() {
        plot(
            &args.out.join("memory.png"),
            "server memory against connections",
            "connections",
            "server RSS (MiB)",
            &memory,
        )?;
        md.push_str("\n![memory against connections](memory.png)\n");
    }
    std::fs::write(args.out.join("report.md"), md)?;
    println!("wrote {}", args.out.join("report.md").display());
    Ok(())
}
