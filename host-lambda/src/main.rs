//! `bootstrap`: the Lambda entry point. Reads the configuration and builds the SDK clients once
//! per cold start, then serves invocations.

use std::process::ExitCode;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use docvault_core::Timestamp;
use docvault_lambda::config::{Config, DocumentSource, MetricsMode};
use docvault_lambda::error::Reported;
use docvault_lambda::kms::KeyCheck;
use docvault_lambda::source::SourceOptions;
use docvault_lambda::{App, Invocation, handle};
use docvault_s3::metrics::MetricsSink;
use docvault_s3::store::S3Store;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG as levels and targets ("info", "docvault_s3=debug,warn"): `Targets` reads that
    // without EnvFilter's span and field syntax, which would link a regex engine into the
    // bootstrap. An unreadable value logs at info and says so once the logger is up.
    let rust_log = std::env::var("RUST_LOG").ok();
    let parsed = rust_log.as_deref().map(str::parse::<Targets>);
    let filter = match &parsed {
        Some(Ok(targets)) => targets.clone(),
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_writer(std::io::stderr),
        )
        .with(filter)
        .init();
    if let (Some(value), Some(Err(error))) = (&rust_log, &parsed) {
        tracing::warn!(
            rust_log = %value,
            %error,
            "RUST_LOG is not a level or a list of target=level pairs (e.g. \"info\" or \
             \"docvault_s3=debug,warn\"); logging at info"
        );
    }

    let config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            eprintln!("docvault: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sdk = docvault_s3::sdk::defaults()
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.force_path_style)
            .build(),
    );
    let metrics = match config.metrics {
        MetricsMode::Emf => MetricsSink::Emf,
        MetricsMode::PutMetricData => {
            MetricsSink::PutMetricData(aws_sdk_cloudwatch::Client::new(&sdk))
        }
    };
    let source = match &config.source {
        DocumentSource::S3(options) => Some(S3Store::new(s3.clone(), options.bucket.clone())),
        DocumentSource::Generator { .. } => None,
    };
    let inventory = match &config.source {
        DocumentSource::S3(SourceOptions {
            inventory: Some(at),
            ..
        }) => Some(S3Store::new(s3.clone(), at.bucket.clone())),
        _ => None,
    };
    let restore_target = config
        .restore_bucket
        .as_ref()
        .map(|b| S3Store::new(s3.clone(), b.clone()));
    let key_check = config
        .kms_key_id
        .as_ref()
        .map(|key| KeyCheck::new(aws_sdk_kms::Client::new(&sdk), key.clone()));
    let app = App {
        key_check,
        store: S3Store::new(s3, config.bucket.clone()),
        source,
        inventory,
        restore_target,
        config,
        metrics,
    };
    let app = &app;
    let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = clock_now();
        let invocation = Invocation {
            request_id: event.context.request_id.clone(),
            now,
            // Lambda gives the deadline in milliseconds since the epoch.
            deadline: i64::try_from(event.context.deadline / 1000)
                .ok()
                .and_then(Timestamp::from_unix_seconds),
        };
        let response = handle(app, &event.payload, &invocation).await;
        if let Err(e) = &response {
            tracing::error!(error = %Reported(e), error_type = e.error_type(), "invocation failed");
        }
        response.map_err(lambda_runtime::Diagnostic::from)
    }))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docvault: Lambda runtime error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The host clock, in whole seconds (read once per invocation).
fn clock_now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
        .map(Timestamp::truncate_to_seconds)
        .unwrap_or_else(|| {
            // A clock outside years 0-9999 is broken; the epoch keeps the run deterministic.
            Timestamp::from_unix_seconds(0).unwrap_or_else(|| unreachable!("the epoch"))
        })
}
