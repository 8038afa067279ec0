//! How every host reaches AWS: the SDK's defaults with one HTTPS client, chosen here.
//!
//! The client is the SDK's own (hyper 1 and rustls, system root certificates) with *ring* as
//! rustls' crypto provider instead of the SDK's default aws-lc. The reason is the Lambda
//! artifact: aws-lc is the largest single part of the bootstrap, and ring does the same TLS 1.2
//! and 1.3 suites in far less code (BENCHMARKS.md, "Lambda artifact and cold start", has the
//! sizes side by side). The one thing given up is the post-quantum hybrid key exchange
//! (X25519MLKEM768) that aws-lc's rustls provider prefers; connections use X25519 instead.
//! Nothing else in the workspace links aws-lc: bodies are hashed with `sha2`, requests signed by
//! the SDK's own code.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The SDK's configuration loader (latest behavior version, the usual AWS variables and files)
/// with docvault's HTTPS client. Hosts add their region, endpoint, retries and timeouts, then
/// `load()` it.
pub fn defaults() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(
        Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https(),
    )
}
