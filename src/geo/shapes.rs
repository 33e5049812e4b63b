//! District boundaries from GeoJSON (RFC 7946, WGS84 longitude/latitude), turned
//! at import into small SVG paths in one national frame, so the dashboard map
//! only prints them. Features are matched to districts by their `code` property.

use serde_json::Value;

use super::import::LineError;

/// The national frame: Cambodia lies within these longitudes and latitudes.
const WEST: f64 = 102.3;
const NORTH: f64 = 14.75;
/// Units per degree of latitude; longitude is shrunk by the cosine of Cambodia's
/// middle latitude (12.5°) so shapes keep their proportions. Gives a frame
/// 1000 units wide and about 845 high.
const SCALE: f64 = 189.7;
const LONGITUDE_FACTOR: f64 = 0.976;
/// Points closer than this (about 0.6 km) to the simplified outline are dropped:
/// finer detail is invisible on a phone and would make the page heavy.
const TOLERANCE: f64 = 1.0;

pub const FRAME_WIDTH: f64 = 1000.0;
pub const FRAME_HEIGHT: f64 = 845.0;

/// One district's outline, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub code: String,
    pub path: String,
    pub min_x: f32,
    pub min_y: f32,
    pub max_x: f32,
    pub max_y: f32,
    /// Its feature's number in the file, from 1, for error messages.
    pub feature: u64,
}

type Point = (f64, f64);

fn project(longitude: f64, latitude: f64) -> Point {
    (
        (longitude - WEST) * SCALE * LONGITUDE_FACTOR,
        (NORTH - latitude) * SCALE,
    )
}

/// The shapes of a GeoJSON FeatureCollection, and the features that cannot be used.
pub fn parse(file: &str, bytes: &[u8]) -> (Vec<Shape>, Vec<LineError>) {
    let error = |feature: u64, key: &'static str, detail: String| LineError {
        file: file.to_owned(),
        line: feature,
        key,
        detail,
    };
    let features = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(mut collection)) => match collection.remove("features") {
            Some(Value::Array(features)) => features,
            _ => {
                return (
                    Vec::new(),
                    vec![error(0, "import-not-geojson", String::new())],
                );
            }
        },
        _ => {
            return (
                Vec::new(),
                vec![error(0, "import-not-geojson", String::new())],
            );
        }
    };
    let mut shapes = Vec::new();
    let mut errors = Vec::new();
    for (index, feature) in features.iter().enumerate() {
        let number = index as u64 + 1;
        let code = feature["properties"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if code.len() != 4 || !code.chars().all(|c| c.is_ascii_digit()) {
            errors.push(error(number, "import-bad-code", code));
            continue;
        }
        match outline(&feature["geometry"]) {
            Some(rings) if !rings.is_empty() => shapes.push(shape(code, rings, number)),
            _ => errors.push(error(number, "import-bad-geometry", code)),
        }
    }
    (shapes, errors)
}

/// The projected, simplified outer and inner rings of a Polygon or MultiPolygon.
fn outline(geometry: &Value) -> Option<Vec<Vec<Point>>> {
    let polygons = match geometry["type"].as_str()? {
        "Polygon" => vec![geometry["coordinates"].as_array()?],
        "MultiPolygon" => geometry["coordinates"]
            .as_array()?
            .iter()
            .map(Value::as_array)
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let mut rings = Vec::new();
    for polygon in polygons {
        for ring in polygon {
            let points = ring
                .as_array()?
                .iter()
                .map(|position| {
                    let longitude = position.get(0)?.as_f64()?;
                    let latitude = position.get(1)?.as_f64()?;
                    let plausible =
                        (-180.0..=180.0).contains(&longitude) && (-90.0..=90.0).contains(&latitude);
                    plausible.then(|| project(longitude, latitude))
                })
                .collect::<Option<Vec<Point>>>()?;
            let simplified = simplify(&points, TOLERANCE);
            // Islands and holes smaller than the tolerance vanish.
            if simplified.len() >= 4 {
                rings.push(simplified);
            }
        }
    }
    Some(rings)
}

fn shape(code: String, rings: Vec<Vec<Point>>, feature: u64) -> Shape {
    let all = rings.iter().flatten();
    let (mut min_x, mut min_y) = (f64::MAX, f64::MAX);
    let (mut max_x, mut max_y) = (f64::MIN, f64::MIN);
    for &(x, y) in all {
        min_x = min_x.min(x);
        min_y = min_y.min(y);
        max_x = max_x.max(x);
        max_y = max_y.max(y);
    }
    Shape {
        code,
        path: svg_path(&rings),
        min_x: min_x as f32,
        min_y: min_y as f32,
        max_x: max_x as f32,
        max_y: max_y as f32,
        feature,
    }
}

/// Whole-unit relative moves (`m`/`l`), which are short and compress well.
fn svg_path(rings: &[Vec<Point>]) -> String {
    let mut path = String::new();
    let (mut pen_x, mut pen_y) = (0i64, 0i64);
    for ring in rings {
        let mut command = 'm';
        for &(x, y) in &ring[..ring.len() - 1] {
            let (x, y) = (x.round() as i64, y.round() as i64);
            if command == 'l' && (x, y) == (pen_x, pen_y) {
                continue;
            }
            path.push_str(&format!("{command}{} {}", x - pen_x, y - pen_y));
            command = 'l';
            (pen_x, pen_y) = (x, y);
        }
        path.push('z');
    }
    path
}

/// Douglas–Peucker: keeps the points that stray more than `tolerance` from the
/// line between the points kept around them. The first and last points stay.
fn simplify(points: &[Point], tolerance: f64) -> Vec<Point> {
    if points.len() < 3 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut spans = vec![(0, points.len() - 1)];
    while let Some((first, last)) = spans.pop() {
        let (farthest, distance) = (first + 1..last)
            .map(|index| {
                (
                    index,
                    distance_to_segment(points[index], points[first], points[last]),
                )
            })
            .fold((first, 0.0), |best, candidate| {
                if candidate.1 > best.1 {
                    candidate
                } else {
                    best
                }
            });
        if distance > tolerance {
            keep[farthest] = true;
            spans.push((first, farthest));
            spans.push((farthest, last));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter_map(|(point, kept)| kept.then_some(*point))
        .collect()
}

fn distance_to_segment(point: Point, start: Point, end: Point) -> f64 {
    let (dx, dy) = (end.0 - start.0, end.1 - start.1);
    let length_squared = dx * dx + dy * dy;
    let t = if length_squared == 0.0 {
        0.0
    } else {
        (((point.0 - start.0) * dx + (point.1 - start.1) * dy) / length_squared).clamp(0.0, 1.0)
    };
    let (nearest_x, nearest_y) = (start.0 + t * dx, start.1 + t * dy);
    ((point.0 - nearest_x).powi(2) + (point.1 - nearest_y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_keeps_its_corners_and_loses_the_points_along_its_sides() {
        let square = [
            (0.0, 0.0),
            (5.0, 0.1),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ];
        assert_eq!(
            simplify(&square, 1.0),
            [
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0)
            ]
        );
    }

    #[test]
    fn features_without_a_district_code_or_polygon_are_reported_by_number() {
        let file = br#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"0203"},"geometry":{"type":"Polygon",
             "coordinates":[[[103.1,13.0],[103.3,13.0],[103.3,13.2],[103.1,13.2],[103.1,13.0]]]}},
            {"type":"Feature","properties":{"code":"x"},"geometry":null},
            {"type":"Feature","properties":{"code":"0204"},"geometry":{"type":"Point","coordinates":[103,13]}}]}"#;
        let (shapes, errors) = parse("d.geojson", file);
        assert_eq!(shapes.len(), 1);
        assert_eq!(shapes[0].code, "0203");
        assert!(
            shapes[0].path.starts_with("m148 332l"),
            "{}",
            shapes[0].path
        );
        let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.key)).collect();
        assert_eq!(found, [(2, "import-bad-code"), (3, "import-bad-geometry")]);
        let (_, errors) = parse("d.geojson", b"[1,2]");
        assert_eq!(errors[0].key, "import-not-geojson");
    }
}
