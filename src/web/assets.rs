//! The stylesheet, the Khmer font and the one small script, built into the binary: an installed
//! server runs from one file, wherever the source folder is. Cached for a day
//! (phones on slow connections should not fetch them on every page), with an
//! `ETag` so that a revalidation costs a `304`.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        path: "counts.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/counts.js"),
    },
    Asset {
        path: "fonts/noto-sans-khmer-khmer-400-normal.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../../static/fonts/noto-sans-khmer-khmer-400-normal.woff2"),
    },
    Asset {
        path: "fonts/OFL.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../static/fonts/OFL.txt"),
    },
];

/// Each asset's ETag: the start of its SHA-256, computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| format!("\"{:.16x}\"", Sha256::digest(asset.bytes)))
        .collect()
});

/// Served under `/static`.
pub fn routes() -> Router {
    Router::new().route("/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = ETAGS[index].as_str();
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=86400"),
        (header::ETAG, etag),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|sent| sent.as_bytes() == etag.as_bytes());
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let asset = &ASSETS[index];
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.bytes,
    )
        .into_response()
}
