//! The log, and with cargo feature `otel` the spans exported to an
//! OpenTelemetry collector: [`Telemetry::init`] at the start of `main`,
//! [`Telemetry::finish`] at its end, which sends the last spans.
//!
//! The spans are the log's: a `request` per route (method, route,
//! `request_id`), a `ws` per WebSocket connection, and the database work
//! inside them. They go over OTLP/HTTP (protobuf) in batches, from the
//! SDK's own thread, through hyper on the app's runtime with the same TLS
//! as the identity provider's keys.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use super::{Config, LogFormat, ServerError};

/// What [`Telemetry::init`] set up; finish it when `main` ends.
#[derive(Debug)]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Logs to stdout as `config.log_format` says, filtered by `RUST_LOG`
    /// (default `info`); with an OTLP endpoint, also exports the spans,
    /// named after `OTEL_SERVICE_NAME` or `service`. A second call sets up
    /// nothing. An endpoint without the `otel` feature is an error.
    pub fn init(config: &Config, service: &str) -> Result<Telemetry, ServerError> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
        let log = match config.log_format {
            LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .boxed(),
        };
        let registry = tracing_subscriber::registry().with(filter).with(log);
        #[cfg(feature = "otel")]
        {
            let service = config.service_name.as_deref().unwrap_or(service);
            let (layer, provider) = match &config.otlp_endpoint {
                Some(endpoint) => {
                    let (layer, provider) =
                        otel::layer(endpoint, service).map_err(ServerError::Telemetry)?;
                    (Some(layer), Some(provider))
                }
                None => (None, None),
            };
            let _ = registry.with(layer).try_init();
            Ok(Telemetry { provider })
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = service;
            if config.otlp_endpoint.is_some() {
                return Err(ServerError::Telemetry(
                    "this build exports no spans: build it with aegis's `otel` feature to use \
                     --otlp-endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)"
                        .into(),
                ));
            }
            let _ = registry.try_init();
            Ok(Telemetry {})
        }
    }

    /// Runs `work` between [`Telemetry::init`] and [`Telemetry::finish`]:
    /// what an app's `main` does with its command.
    pub async fn around(
        config: &Config,
        service: &str,
        work: impl Future<Output = Result<(), ServerError>>,
    ) -> Result<(), ServerError> {
        let telemetry = Telemetry::init(config, service)?;
        let outcome = work.await;
        telemetry.finish().await;
        outcome
    }

    /// Sends the spans not sent yet, and stops exporting. A span still
    /// open is not sent: a request still in flight, or one whose last
    /// query's span SQLite's driver thread has not let go of yet.
    pub async fn finish(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider {
            // The SDK waits for its thread, whose requests run on this runtime.
            let shutdown = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = shutdown {
                eprintln!("the last spans were not exported: {error}");
            }
        }
    }
}

#[cfg(feature = "otel")]
mod otel {
    use std::time::Duration;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
    use tracing_opentelemetry::OpenTelemetryLayer;

    /// How long one export may take.
    const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

    type Connector =
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

    /// The exporter's HTTP client. The SDK exports from a thread of its
    /// own, outside the runtime hyper needs: each request is spawned on
    /// the app's runtime and awaited from there.
    #[derive(Debug)]
    struct OnRuntime {
        runtime: tokio::runtime::Handle,
        client: opentelemetry_http::hyper::HyperClient<Connector>,
    }

    #[async_trait::async_trait]
    impl HttpClient for OnRuntime {
        async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
            let client = self.client.clone();
            self.runtime
                .spawn(async move { client.send_bytes(request).await })
                .await?
        }
    }

    /// The layer that turns spans into OpenTelemetry spans, and the
    /// provider that batches and sends them to `endpoint`
    /// (`<endpoint>/v1/traces`).
    pub(super) fn layer<S>(
        endpoint: &str,
        service: &str,
    ) -> Result<(OpenTelemetryLayer<S, SdkTracer>, SdkTracerProvider), String>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let traces = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "spans are exported from within the app's tokio runtime".to_owned())?;
        let client = OnRuntime {
            runtime,
            client: opentelemetry_http::hyper::HyperClient::new(
                crate::auth::connector(),
                EXPORT_TIMEOUT,
                None,
            ),
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(&traces)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot export spans to {traces}: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("aegis"));
        Ok((layer, provider))
    }
}
