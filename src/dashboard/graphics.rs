//! The dashboard's charts and map, drawn once for each language, measure and
//! way of showing counts of people, and kept with the figures they draw, so
//! that a view of kept figures copies them instead of drawing 200 outlines
//! and bars again. They hold nothing of the reader's but what the figures do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;

use super::figures::Figures;
use super::{charts, map};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::web::Ctx;

/// What the drawing depends on besides the figures.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub lang: Lang,
    pub measure: String,
    pub blurred: bool,
    /// The filters as the map's links repeat them.
    pub query: String,
}

/// Drawings kept for one set of figures; a handful at most per key's parts.
#[derive(Debug, Default)]
pub struct Kept(Mutex<HashMap<Key, Arc<str>>>);

/// More than this many drawings of one set of figures are drawn, not kept:
/// the keys are few (2 languages × 5 measures × 2), the filters' spellings not.
const MOST_KEPT: usize = 40;

#[derive(Template)]
#[template(path = "dashboard/graphics.html")]
struct Graphics {
    ctx: Ctx,
    charts: Option<charts::Charts>,
    map: Option<map::Map>,
    measure: String,
    blurred: bool,
    query: String,
}

impl Graphics {
    fn map_link(&self, measure: &str) -> String {
        format!("/dashboard?{}&map={measure}#map", self.query)
    }
}

/// The charts and the map of `figures`, from those kept when drawn before.
pub fn drawn(figures: &Figures, key: Key) -> Result<Arc<str>, AppError> {
    let kept = &figures.graphics.0;
    if let Some(html) = kept.lock().ok().and_then(|kept| kept.get(&key).cloned()) {
        return Ok(html);
    }
    let ctx = Ctx::for_page(key.lang, None, String::new(), String::new());
    let people = figures.people(key.blurred);
    let graphics = Graphics {
        map: map::draw(&key.measure, figures, &people, &ctx),
        charts: Some(charts::draw(&ctx, &people, figures)),
        measure: key.measure.clone(),
        blurred: key.blurred,
        query: key.query.clone(),
        ctx,
    };
    let html: Arc<str> = graphics.render().map_err(anyhow::Error::from)?.into();
    if let Ok(mut kept) = kept.lock()
        && kept.len() < MOST_KEPT
    {
        kept.insert(key, Arc::clone(&html));
    }
    Ok(html)
}
