//! Sending the core's metrics: EMF log lines by default, `PutMetricData` when configured.
//! Metric delivery never fails a backup: errors are logged, not returned.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use docvault_core::MetricSet;
use docvault_core::metrics::Unit;

/// Where metrics go.
#[derive(Debug, Clone)]
pub enum MetricsSink {
    /// One CloudWatch Embedded Metric Format line on stdout per run.
    Emf,
    /// `PutMetricData` calls.
    PutMetricData(aws_sdk_cloudwatch::Client),
    /// Kept in memory, for tests that check what a run reported.
    #[cfg(any(test, feature = "test-util"))]
    Memory(std::sync::Arc<std::sync::Mutex<Vec<MetricSet>>>),
}

/// `PutMetricData` takes at most this many values per call.
pub const MAX_DATA_PER_CALL: usize = 1000;

impl MetricsSink {
    /// Sends `set`; logs (and swallows) delivery errors.
    pub async fn send(&self, set: &MetricSet) {
        match self {
            Self::Emf => println!("{}", set.to_emf()),
            #[cfg(any(test, feature = "test-util"))]
            Self::Memory(sets) => sets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(set.clone()),
            Self::PutMetricData(client) => {
                for batch in put_metric_data_batches(set) {
                    let result = client
                        .put_metric_data()
                        .namespace(&set.namespace)
                        .set_metric_data(Some(batch))
                        .send()
                        .await;
                    if let Err(e) = result {
                        tracing::error!(
                            error = %aws_sdk_cloudwatch::error::DisplayErrorContext(&e),
                            "PutMetricData failed; the backup result stands"
                        );
                    }
                }
            }
        }
    }
}

/// The `MetricDatum` batches for `set`: as few calls as possible.
pub fn put_metric_data_batches(set: &MetricSet) -> Vec<Vec<MetricDatum>> {
    let dimensions: Vec<Dimension> = set
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    let data: Vec<MetricDatum> = set
        .data
        .iter()
        .map(|d| {
            MetricDatum::builder()
                .metric_name(d.name)
                .unit(match d.unit {
                    Unit::Count => StandardUnit::Count,
                    Unit::Bytes => StandardUnit::Bytes,
                    Unit::Milliseconds => StandardUnit::Milliseconds,
                })
                .value(d.value as f64)
                .timestamp(DateTime::from_millis(set.timestamp.unix_millis()))
                .set_dimensions(Some(dimensions.clone()))
                .build()
        })
        .collect();
    data.chunks(MAX_DATA_PER_CALL)
        .map(<[MetricDatum]>::to_vec)
        .collect()
}
