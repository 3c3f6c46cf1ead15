//! The connector: TCP with a connect timeout, then rustls.

use std::sync::Arc;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use super::{EgressConfig, EgressError};

/// TCP (connect timeout, no Nagle) wrapped in TLS with the ring provider
/// (named, so a second provider elsewhere in the build cannot make rustls
/// ambiguous). Roots: the system's trust store, where an operator adds the
/// CA of an on-premises endpoint; Mozilla's bundled roots when the system
/// has none (a slim container).
pub(super) fn connector(
    config: &EgressConfig,
) -> Result<HttpsConnector<HttpConnector>, EgressError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(config.connect_timeout));
    tcp.set_nodelay(true);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => builder,
        Err(e) => {
            tracing::info!(error = %e, "no usable system trust store; trusting the bundled Mozilla roots");
            HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .map_err(|e| EgressError::Setup(e.to_string()))?
        }
    };
    let builder = if config.allow_http {
        builder.https_or_http()
    } else {
        builder.https_only()
    };
    Ok(builder.enable_http1().wrap_connector(tcp))
}
