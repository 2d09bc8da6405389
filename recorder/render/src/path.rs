//! The Canvas current path, kept in device space as Canvas does: each point is transformed by
//! the transform in effect when it was added.

use tiny_skia::{Path, PathBuilder, Point, Transform};

use vcs_scene::Rect;

/// Bezier handle length for a quarter circle.
const KAPPA: f32 = 0.552_284_8;

#[derive(Default)]
pub(super) struct CanvasPath {
    pb: PathBuilder,
    /// Last point in device space, `None` with no current subpath.
    last: Option<Point>,
    /// Start of the current subpath (device), where closePath returns to.
    start: Option<Point>,
}

/// Device coordinates are clamped to ±this: tiny-skia's fixed-point scan converter asserts
/// on coordinates near 1e30 (found by `extreme_values_do_not_panic`), and nothing beyond a
/// million pixels can be visible anyway. Clamping keeps huge "cover everything" shapes
/// covering everything.
pub(super) const DEVICE_LIMIT: f32 = 1_000_000.0;

pub(super) fn clamp_device(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-DEVICE_LIMIT, DEVICE_LIMIT)
    }
}

fn map(ts: Transform, x: f32, y: f32) -> Point {
    let mut p = Point::from_xy(x, y);
    ts.map_point(&mut p);
    Point::from_xy(clamp_device(p.x), clamp_device(p.y))
}

/// Whether `r` under `ts` stays within the device limit (so tiny-skia may transform it).
pub(super) fn within_limit(ts: Transform, left: f32, top: f32, right: f32, bottom: f32) -> bool {
    [(left, top), (right, top), (right, bottom), (left, bottom)]
        .into_iter()
        .all(|(x, y)| {
            let mut p = Point::from_xy(x, y);
            ts.map_point(&mut p);
            p.x.abs() <= DEVICE_LIMIT && p.y.abs() <= DEVICE_LIMIT
        })
}

impl CanvasPath {
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The path so far, `None` when empty.
    pub fn finish(&self) -> Option<Path> {
        self.pb.clone().finish()
    }

    pub fn move_to(&mut self, ts: Transform, x: f32, y: f32) {
        let p = map(ts, x, y);
        self.pb.move_to(p.x, p.y);
        self.last = Some(p);
        self.start = Some(p);
    }

    pub fn line_to(&mut self, ts: Transform, x: f32, y: f32) {
        if self.last.is_none() {
            // Canvas: lineTo with no subpath behaves as moveTo.
            return self.move_to(ts, x, y);
        }
        let p = map(ts, x, y);
        self.pb.line_to(p.x, p.y);
        self.last = Some(p);
    }

    pub fn quad_to(&mut self, ts: Transform, cx: f32, cy: f32, x: f32, y: f32) {
        if self.last.is_none() {
            self.move_to(ts, cx, cy);
        }
        let (c, p) = (map(ts, cx, cy), map(ts, x, y));
        self.pb.quad_to(c.x, c.y, p.x, p.y);
        self.last = Some(p);
    }

    fn cubic_to(&mut self, ts: Transform, c1: (f32, f32), c2: (f32, f32), end: (f32, f32)) {
        let (a, b, p) = (
            map(ts, c1.0, c1.1),
            map(ts, c2.0, c2.1),
            map(ts, end.0, end.1),
        );
        self.pb.cubic_to(a.x, a.y, b.x, b.y, p.x, p.y);
        self.last = Some(p);
    }

    pub fn close(&mut self) {
        if self.last.is_some() {
            self.pb.close();
            self.last = self.start;
        }
    }

    pub fn rect(&mut self, ts: Transform, r: Rect) {
        self.move_to(ts, r.x, r.y);
        self.line_to(ts, r.x + r.w, r.y);
        self.line_to(ts, r.x + r.w, r.y + r.h);
        self.line_to(ts, r.x, r.y + r.h);
        self.close();
    }

    /// Canvas `roundRect` with radii top-left, top-right, bottom-right, bottom-left; radii
    /// that do not fit are scaled down together (CSS border-radius rule).
    pub fn round_rect(&mut self, ts: Transform, r: Rect, radii: [f32; 4]) {
        let (x, y, w, h) = normalized(r);
        let mut rad = radii.map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 });
        let [tl, tr, br, bl] = rad;
        let scale = [w / (tl + tr), h / (tr + br), w / (br + bl), h / (bl + tl)]
            .into_iter()
            .filter(|s| s.is_finite())
            .fold(1.0f32, f32::min);
        if scale < 1.0 {
            rad = rad.map(|v| v * scale);
        }
        let [tl, tr, br, bl] = rad;
        let k = 1.0 - KAPPA;
        self.move_to(ts, x + tl, y);
        self.line_to(ts, x + w - tr, y);
        if tr > 0.0 {
            self.cubic_to(
                ts,
                (x + w - tr * k, y),
                (x + w, y + tr * k),
                (x + w, y + tr),
            );
        }
        self.line_to(ts, x + w, y + h - br);
        if br > 0.0 {
            let (c1, c2) = ((x + w, y + h - br * k), (x + w - br * k, y + h));
            self.cubic_to(ts, c1, c2, (x + w - br, y + h));
        }
        self.line_to(ts, x + bl, y + h);
        if bl > 0.0 {
            self.cubic_to(
                ts,
                (x + bl * k, y + h),
                (x, y + h - bl * k),
                (x, y + h - bl),
            );
        }
        self.line_to(ts, x, y + tl);
        if tl > 0.0 {
            self.cubic_to(ts, (x, y + tl * k), (x + tl * k, y), (x + tl, y));
        }
        self.close();
        // Canvas starts a new subpath at the rect's origin afterwards.
        self.move_to(ts, r.x, r.y);
    }

    /// Canvas `arcTo(x1, y1, x2, y2, r)`: a line towards (x1,y1) then an arc of radius r
    /// tangent to both lines (x0,y0)→(x1,y1) and (x1,y1)→(x2,y2).
    pub fn arc_to(&mut self, ts: Transform, x1: f32, y1: f32, x2: f32, y2: f32, r: f32) {
        let Some(last) = self.last else {
            return self.move_to(ts, x1, y1);
        };
        // The current point in the current user space.
        let Some(inv) = ts.invert() else { return };
        let mut p0 = last;
        inv.map_point(&mut p0);
        let (x0, y0) = (p0.x, p0.y);
        let (d0x, d0y) = (x0 - x1, y0 - y1);
        let (d2x, d2y) = (x2 - x1, y2 - y1);
        let (l0, l2) = (d0x.hypot(d0y), d2x.hypot(d2y));
        let cross = d0x * d2y - d0y * d2x;
        if r <= 0.0 || l0 < 1e-6 || l2 < 1e-6 || cross.abs() < 1e-6 * l0 * l2 {
            return self.line_to(ts, x1, y1);
        }
        let (u0x, u0y, u2x, u2y) = (d0x / l0, d0y / l0, d2x / l2, d2y / l2);
        let cos = (u0x * u2x + u0y * u2y).clamp(-1.0, 1.0);
        let half = cos.acos() / 2.0;
        let dist = r / half.tan();
        let (t0x, t0y) = (x1 + u0x * dist, y1 + u0y * dist);
        let (t2x, t2y) = (x1 + u2x * dist, y1 + u2y * dist);
        self.line_to(ts, t0x, t0y);
        // The arc sweeps π - 2·half; one cubic is accurate enough below a half-turn.
        let sweep = std::f32::consts::PI - 2.0 * half;
        let handle = 4.0 / 3.0 * (sweep / 4.0).tan() * r;
        self.cubic_to(
            ts,
            (t0x - u0x * handle, t0y - u0y * handle),
            (t2x - u2x * handle, t2y - u2y * handle),
            (t2x, t2y),
        );
    }
}

/// `(x, y, w, h)` with non-negative size (Canvas accepts negative widths and heights).
pub(super) fn normalized(r: Rect) -> (f32, f32, f32, f32) {
    let (x, w) = if r.w < 0.0 {
        (r.x + r.w, -r.w)
    } else {
        (r.x, r.w)
    };
    let (y, h) = if r.h < 0.0 {
        (r.y + r.h, -r.h)
    } else {
        (r.y, r.h)
    };
    (x, y, w, h)
}
