//! The `PutMetricData` path at the request level: aws-sdk-cloudwatch speaks Smithy RPC v2 CBOR,
//! which moto does not serve, so the requests are checked with aws-smithy-mocks.

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataInput, PutMetricDataOutput};
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_smithy_mocks::{mock, mock_client};
use docvault_core::metrics::{MetricDatum, Unit};
use docvault_core::{Label, MetricSet, RunOutcome};
use docvault_s3::metrics::{MAX_DATA_PER_CALL, MetricsSink, put_metric_data_batches};

fn run_metrics() -> MetricSet {
    MetricSet::for_run(
        "BackupSystem",
        &Label::new("prod").unwrap(),
        "2026-11-27T02:00:05Z".parse().unwrap(),
        RunOutcome {
            success: true,
            documents: 500,
            bytes: 4_208_862,
            failed: 0,
        },
        Some(1234),
    )
}

#[tokio::test]
async fn one_call_with_the_spec_names_units_and_dimension() {
    let seen: Arc<Mutex<Vec<PutMetricDataInput>>> = Arc::default();
    let record = seen.clone();
    let rule = mock!(Client::put_metric_data)
        .match_requests(move |req| {
            record.lock().unwrap().push(req.clone());
            true
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, [&rule]);

    MetricsSink::PutMetricData(client)
        .send(&run_metrics())
        .await;

    assert_eq!(rule.num_calls(), 1, "all metrics of a run go in one call");
    let seen = seen.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.namespace(), Some("BackupSystem"));
    let data = req.metric_data();
    let got: Vec<(&str, f64, StandardUnit)> = data
        .iter()
        .map(|d| {
            (
                d.metric_name().unwrap(),
                d.value().unwrap(),
                d.unit().unwrap().clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("BackupSuccess", 1.0, StandardUnit::Count),
            ("BackupFailure", 0.0, StandardUnit::Count),
            ("DocumentsBackedUp", 500.0, StandardUnit::Count),
            ("BackupSizeBytes", 4_208_862.0, StandardUnit::Bytes),
            ("FailedDocuments", 0.0, StandardUnit::Count),
            ("BackupDurationMs", 1234.0, StandardUnit::Milliseconds),
        ]
    );
    for d in data {
        let dims: Vec<(&str, &str)> = d
            .dimensions()
            .iter()
            .map(|x| (x.name().unwrap(), x.value().unwrap()))
            .collect();
        assert_eq!(dims, vec![("Environment", "prod")]);
        assert_eq!(
            d.timestamp().unwrap().to_millis().unwrap(),
            1_795_744_805_000
        );
    }
}

#[tokio::test]
async fn a_failing_put_metric_data_does_not_fail_the_run() {
    let rule = mock!(Client::put_metric_data).then_error(|| {
        aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError::unhandled("throttled")
    });
    let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
    // `send` returns (), logging the error: reaching the assertion is the property.
    MetricsSink::PutMetricData(client)
        .send(&run_metrics())
        .await;
    assert!(rule.num_calls() >= 1);
}

#[test]
fn large_sets_are_split_at_the_api_limit() {
    let mut set = run_metrics();
    set.data = (0..2 * MAX_DATA_PER_CALL + 1)
        .map(|i| MetricDatum {
            name: "FailedDocuments",
            unit: Unit::Count,
            value: i as u64,
        })
        .collect();
    let batches = put_metric_data_batches(&set);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![MAX_DATA_PER_CALL, MAX_DATA_PER_CALL, 1]);
}
