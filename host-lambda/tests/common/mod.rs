//! What the handler tests share: the function built on in-memory stores, and an invocation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use docvault_core::MetricSet;
use docvault_lambda::config::Config;
use docvault_lambda::{App, Invocation};
use docvault_s3::memory::MemoryStore;
use docvault_s3::metrics::MetricsSink;

/// The metric sets the function sent.
pub(crate) type Metrics = Arc<Mutex<Vec<MetricSet>>>;

/// The function configured with the required variables, then `defaults`, then `vars`, on
/// `store` (also its S3 source, when `DOCUMENT_SOURCE` names one); metrics kept in memory.
pub(crate) fn app(
    defaults: &[(&str, &str)],
    vars: &[(&str, &str)],
    store: MemoryStore,
) -> (App<MemoryStore>, Metrics) {
    let all: BTreeMap<String, String> = [
        ("BACKUP_BUCKET", "docvault-backups"),
        ("ENVIRONMENT", "dev"),
        ("KMS_KEY_ID", "none"),
    ]
    .iter()
    .chain(defaults)
    .chain(vars)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let config = Config::from_lookup(|k| all.get(k).cloned()).unwrap();
    let metrics = Metrics::default();
    let source = matches!(
        config.source,
        docvault_lambda::config::DocumentSource::S3(_)
    )
    .then(|| store.clone());
    let app = App {
        config,
        store,
        metrics: MetricsSink::Memory(metrics.clone()),
        source,
        inventory: None,
        restore_target: None,
        key_check: None,
    };
    (app, metrics)
}

/// An invocation at 02:00:05 on 2026-11-28 with 15 minutes to run.
pub(crate) fn invocation(id: &str) -> Invocation {
    Invocation {
        request_id: id.into(),
        now: "2026-11-28T02:00:05Z".parse().unwrap(),
        deadline: Some("2026-11-28T02:15:05Z".parse().unwrap()),
    }
}
