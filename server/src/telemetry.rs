//! Logging and tracing set-up: `tracing` to stderr (text or JSON), and, when an OTLP endpoint is
//! configured, spans exported over OTLP/HTTP. A request whose `_meta` carries W3C `traceparent`
//! (and `tracestate`) gets a span that continues the caller's trace.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Keeps the exporter alive; dropping it flushes pending spans.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            if let Err(e) = p.shutdown() {
                eprintln!("ringmcp: flushing spans failed: {e}");
            }
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[error("OTLP exporter: {0}")]
pub struct TelemetryError(String);

/// Install the subscriber: `filter` (a RUST_LOG directive), `json` lines or text, and an OTLP
/// span exporter when `otlp_endpoint` is given (e.g. `http://collector:4318/v1/traces`).
pub fn init(
    filter: tracing_subscriber::EnvFilter,
    json: bool,
    otlp_endpoint: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let fmt: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> = if json {
        Box::new(fmt.json().with_filter(filter))
    } else {
        Box::new(fmt.with_ansi(ansi).with_filter(filter))
    };
    let provider = match otlp_endpoint {
        None => None,
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            // The exporter's blocking reqwest client is built with rustls and no crypto provider
            // of its own (the workspace keeps aws-lc out): without a process default it panics on
            // its own thread and no span ever leaves. The process's provider is ring, as the
            // server's TLS; one installed already (by an embedding program) is kept.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| TelemetryError(e.to_string()))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("ringmcp")
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
    };
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("ringmcp"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    tracing_subscriber::registry().with(fmt).with(otel).init();
    Ok(Telemetry { provider })
}

/// The OpenTelemetry context a W3C `traceparent`/`tracestate` pair names.
pub(crate) fn remote_context(traceparent: &str, tracestate: Option<&str>) -> Context {
    use opentelemetry::propagation::TextMapPropagator;
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(ts) = tracestate {
        carrier.insert("tracestate".to_owned(), ts.to_owned());
    }
    TraceContextPropagator::new().extract(&carrier)
}
