//! Whom a request comes from: the connection's peer, or, when that peer is one
//! of `SAMLENG_TRUSTED_PROXIES`, the client it names in `X-Forwarded-For`.
//! Rate limiting and the audit log both read the address found here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

use crate::config::TrustedProxies;

/// The address a request is taken to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

/// Middleware, outermost: finds the client's address once for every layer.
pub async fn find(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(peer) = peer {
        let client = proxies.client(peer, request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

/// Rate limits per client address, as [`find`] found it.
#[derive(Debug, Clone, Copy)]
pub struct ByClientAddr;

impl KeyExtractor for ByClientAddr {
    type Key = IpAddr;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        request
            .extensions()
            .get::<ClientAddr>()
            .map(|ClientAddr(address)| *address)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}
