//! Whom a request comes from: the connection's peer, or, when that peer is one
//! of `SAMLENG_TRUSTED_PROXIES`, the client it names in `X-Forwarded-For`.
//! Rate limiting and the audit log both read the address found here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses or CIDR blocks, separated by commas or spaces.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split([',', ' '])
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(&address))
    }

    /// The client behind `peer`: each trusted proxy appends the address it
    /// heard from, so the list is read from the right, past our own proxies,
    /// to the first address none of them vouches for. Anything a client wrote
    /// further left is its own claim and ignored.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|item| item.trim().parse::<IpAddr>());
        let mut client = peer;
        for address in forwarded.collect::<Vec<_>>().into_iter().rev() {
            match address {
                Ok(address) if self.trusts(address) => client = address,
                Ok(address) => return address,
                // A malformed entry ends what can be believed.
                Err(_) => break,
            }
        }
        client
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1 ::1").unwrap();
        assert!(proxies.trusts(ip("10.1.2.3")));
        assert!(proxies.trusts(ip("127.0.0.1")));
        assert!(proxies.trusts(ip("::1")));
        assert!(!proxies.trusts(ip("192.168.1.1")));
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example.org").is_err());
    }

    #[test]
    fn believes_the_header_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = headers("203.0.113.9");
        assert_eq!(
            proxies.client(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        assert_eq!(proxies.client(ip("10.0.0.2"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn takes_the_rightmost_address_no_proxy_vouches_for() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client claimed 1.1.1.1; the outer proxy heard 203.0.113.9;
        // the inner proxy heard the outer one.
        let chain = headers("1.1.1.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(proxies.client(ip("10.0.0.2"), &chain), ip("203.0.113.9"));
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &headers("garbage, 10.0.0.5")),
            ip("10.0.0.5")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
    }
}
