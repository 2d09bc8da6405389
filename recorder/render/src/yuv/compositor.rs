//! The YUV strata compositor: background (converted once per rasterisation), the video layers'
//! scaled tiles blended with their corners and opacity, then the foreground over its spans.

use std::collections::HashMap;

use vcs_scene::{IntRect, VideoAttrs};

use super::overlay::Overlay;
use super::scale::PlaneScaler;
use super::tile::{Tile, TileKey};
use super::{I420Layout, I420Ref, YuvSpace};
use crate::compose::{LayerMapping, RoundedRect, intersect};

/// One video layer to draw.
#[derive(Clone, Copy)]
pub struct VideoLayerRef<'a> {
    /// The layer's id: its scaled tile is kept under it between frames.
    pub id: &'a str,
    /// Unique per decoded frame: an unchanged id (and geometry) reuses the scaled tile.
    pub frame_id: u64,
    pub src: I420Ref<'a>,
    /// Where the layer goes, in output pixels.
    pub rect: IntRect,
    pub attrs: &'a VideoAttrs,
}

/// Composes I420 output frames of one layout and colour space. Keeps the converted graphics and
/// each layer's scaled tile between frames.
pub struct YuvCompositor {
    layout: I420Layout,
    space: YuvSpace,
    /// The background stratum over black, as a whole output frame.
    background: Vec<u8>,
    foreground: Overlay,
    /// Each layer's tiles under its id, one per view of it in the scene (two views of one
    /// participant keep a tile each).
    tiles: HashMap<String, Vec<Tile>>,
    scaler: PlaneScaler,
    /// Tiles scaled since this compositor was made (a frame reused counts nothing): for tests
    /// and the bench.
    pub tiles_scaled: u64,
}

/// A layer placed on the output: what it shows and how.
struct Placed {
    index: usize,
    /// How many layers before this one in the scene have its id: which of its id's tiles.
    view: usize,
    key: TileKey,
    /// 0..=256.
    opacity: u32,
    radius: f32,
}

impl Placed {
    fn is_opaque_rectangle(&self) -> bool {
        self.opacity >= 256 && self.radius <= 0.0
    }
}

impl YuvCompositor {
    /// A compositor for frames laid out as `layout` (which must be valid), in `space`; the
    /// background starts black.
    pub fn new(layout: I420Layout, space: YuvSpace) -> Self {
        let mut c = Self {
            layout,
            space,
            background: vec![0; layout.frame_len()],
            foreground: Overlay::default(),
            tiles: HashMap::new(),
            scaler: PlaneScaler::default(),
            tiles_scaled: 0,
        };
        c.set_background(&[]);
        c
    }

    pub fn layout(&self) -> &I420Layout {
        &self.layout
    }

    pub fn space(&self) -> YuvSpace {
        self.space
    }

    /// The background stratum (premultiplied RGBA of the output size, tightly packed; empty for
    /// none) composited over black, kept until the next call.
    pub fn set_background(&mut self, premul: &[u8]) {
        let black = self.space.rgb_to_yuv_premultiplied([0.0; 3], 255.0);
        let [y, u, v] = self.layout.planes_mut(&mut self.background);
        y.fill(black[0].round() as u8);
        u.fill(black[1].round() as u8);
        v.fill(black[2].round() as u8);
        let (w, h) = (self.layout.width, self.layout.height);
        if premul.len() >= w as usize * h as usize * 4 {
            Overlay::from_premultiplied(premul, w, h, self.space)
                .blend_onto(&mut self.background, &self.layout);
        }
    }

    /// The foreground stratum (premultiplied RGBA of the output size), kept until the next call.
    pub fn set_foreground(&mut self, premul: &[u8]) {
        let (w, h) = (self.layout.width, self.layout.height);
        self.foreground = Overlay::from_premultiplied(premul, w, h, self.space);
    }

    /// Writes one output frame into `out` ([`I420Layout::frame_len`] bytes or more): background, the
    /// `layers` bottom to top, foreground. Every byte of the frame is written, whatever `out` held.
    pub fn compose(&mut self, out: &mut [u8], layers: &[VideoLayerRef<'_>]) {
        let len = self.layout.frame_len();
        let Some(out) = out.get_mut(..len) else {
            tracing::error!(len = out.len(), need = len, "output buffer too small");
            return;
        };
        out.copy_from_slice(&self.background);
        let placed: Vec<Placed> = layers
            .iter()
            .enumerate()
            .filter_map(|(index, l)| {
                let view = layers[..index].iter().filter(|o| o.id == l.id).count();
                self.place(index, view, l)
            })
            .collect();
        for (i, p) in placed.iter().enumerate() {
            // Hidden under an opaque, square-cornered layer drawn later: not drawn at all.
            let hidden = placed[i + 1..].iter().any(|above| {
                above.is_opaque_rectangle() && contains(above.key.visible, p.key.visible)
            });
            if !hidden {
                self.draw(out, &layers[p.index], p);
            }
        }
        self.tiles.retain(|id, views| {
            views.truncate(layers.iter().filter(|l| l.id == id.as_str()).count());
            !views.is_empty()
        });
        self.foreground.blend_onto(out, &self.layout);
    }

    fn place(&self, index: usize, view: usize, l: &VideoLayerRef<'_>) -> Option<Placed> {
        let map = LayerMapping::new(l.src.layout.width, l.src.layout.height, l.rect, l.attrs)?;
        let opacity = (l.attrs.opacity.get() * 256.0) as u32;
        if opacity == 0 {
            return None;
        }
        let canvas = IntRect {
            x: 0,
            y: 0,
            w: self.layout.width as i32,
            h: self.layout.height as i32,
        };
        let visible = intersect(map.dst, canvas)?;
        let radius = l
            .attrs
            .corner_radius_px
            .min(map.dst.w as f32 / 2.0)
            .min(map.dst.h as f32 / 2.0)
            .max(0.0);
        Some(Placed {
            index,
            view,
            key: TileKey {
                frame_id: l.frame_id,
                mapping: map,
                visible,
            },
            opacity,
            radius,
        })
    }

    fn draw(&mut self, out: &mut [u8], layer: &VideoLayerRef<'_>, p: &Placed) {
        if !self.tiles.contains_key(layer.id) {
            self.tiles.insert(layer.id.to_owned(), Vec::new());
        }
        let Some(views) = self.tiles.get_mut(layer.id) else {
            return;
        };
        if views.len() <= p.view {
            views.resize_with(p.view + 1, Tile::default);
        }
        let tile = &mut views[p.view];
        if tile.key != Some(p.key) {
            if !tile.make(&mut self.scaler, &layer.src, p.key, self.space) {
                return;
            }
            self.tiles_scaled += 1;
        }
        let coverage = Coverage {
            visible: p.key.visible,
            corners: RoundedRect::new(p.key.mapping.dst, p.radius),
            opacity: p.opacity,
        };
        blend_tile(out, &self.layout, tile, &coverage);
    }
}

/// How much of each output pixel a layer covers (0..=256).
struct Coverage {
    visible: IntRect,
    corners: RoundedRect,
    opacity: u32,
}

impl Coverage {
    fn at(&self, px: i32, py: i32) -> u32 {
        let v = self.visible;
        if px < v.x || py < v.y || px >= v.x + v.w || py >= v.y + v.h {
            return 0;
        }
        if self.corners.row_has_corners(py) {
            self.corners.coverage(px, py) * self.opacity / 256
        } else {
            self.opacity
        }
    }

    /// A row whose every pixel inside the layer has the layer's plain opacity.
    fn row_is_plain(&self, py: i32) -> bool {
        (self.visible.y..self.visible.y + self.visible.h).contains(&py)
            && !self.corners.row_has_corners(py)
    }
}

/// Blends `tile`'s planes into `out` with `cov`.
fn blend_tile(out: &mut [u8], layout: &I420Layout, tile: &Tile, cov: &Coverage) {
    let [py, pu, pv] = layout.planes_mut(out);
    let vis = cov.visible;
    let (vw, s) = (vis.w as usize, layout.strides);
    let mut row_cov = vec![0u32; vw.max(tile.cw as usize)];
    for (i, y) in (vis.y..vis.y + vis.h).enumerate() {
        let dst = &mut py[y as usize * s[0] + vis.x as usize..][..vw];
        let src = &tile.y[i * vw..][..vw];
        if cov.row_is_plain(y) {
            blend_row(dst, src, cov.opacity);
            continue;
        }
        for (c, x) in row_cov.iter_mut().zip(vis.x..) {
            *c = cov.at(x, y);
        }
        blend_varying(dst, src, &row_cov[..vw]);
    }
    // Chroma: each sample at the mean coverage of its 2×2 luma pixels (half along an odd edge).
    // In a row of plain luma rows only the first and last sample can be partly covered, so the
    // samples between them are blended at the layer's opacity (copied when opaque), as luma is.
    let cw = tile.cw as usize;
    let plain_cov: Vec<u32> = (tile.cx0..)
        .take(cw)
        .map(|cx| {
            let inside = |x: i32| (vis.x..vis.x + vis.w).contains(&x) as u32;
            (inside(2 * cx) + inside(2 * cx + 1)) * cov.opacity / 2
        })
        .collect();
    let full = |c: &u32| *c == cov.opacity;
    let first = plain_cov.iter().position(full).unwrap_or(cw);
    let end = plain_cov.iter().rposition(full).map_or(first, |i| i + 1);
    for (i, cy) in (tile.cy0..tile.cy0 + tile.ch as i32).enumerate() {
        let (y0, y1) = (2 * cy, 2 * cy + 1);
        let plain = cov.row_is_plain(y0) && cov.row_is_plain(y1);
        if !plain {
            for (c, cx) in row_cov.iter_mut().zip(tile.cx0..).take(cw) {
                let (x0, x1) = (2 * cx, 2 * cx + 1);
                *c = (cov.at(x0, y0) + cov.at(x1, y0) + cov.at(x0, y1) + cov.at(x1, y1)) / 4;
            }
        }
        for (plane, src, stride) in [(&mut *pu, &tile.u, s[1]), (&mut *pv, &tile.v, s[2])] {
            let dst = &mut plane[cy as usize * stride + tile.cx0 as usize..][..cw];
            let src = &src[i * cw..][..cw];
            if plain {
                blend_varying(&mut dst[..first], &src[..first], &plain_cov[..first]);
                blend_row(&mut dst[first..end], &src[first..end], cov.opacity);
                blend_varying(&mut dst[end..], &src[end..], &plain_cov[end..]);
            } else {
                blend_varying(dst, src, &row_cov[..cw]);
            }
        }
    }
}

/// `dst = src × c + dst × (1 - c)` at one coverage `c` (0..=256) for a row.
fn blend_row(dst: &mut [u8], src: &[u8], c: u32) {
    match c {
        0 => {}
        256.. => dst.copy_from_slice(src),
        c => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = mix(*d, s, c);
            }
        }
    }
}

/// As [`blend_row`] with a coverage per sample.
fn blend_varying(dst: &mut [u8], src: &[u8], cov: &[u32]) {
    for ((d, &s), &c) in dst.iter_mut().zip(src).zip(cov) {
        *d = mix(*d, s, c);
    }
}

/// One arithmetic form for every coverage, with no branch per sample (so loops of it
/// vectorise): exact at the ends too, `d` at 0 and `s` at 256.
#[inline]
fn mix(d: u8, s: u8, c: u32) -> u8 {
    let c = c.min(256);
    ((s as u32 * c + d as u32 * (256 - c) + 128) >> 8) as u8
}

/// Whether `outer` contains all of `inner`.
fn contains(outer: IntRect, inner: IntRect) -> bool {
    outer.x <= inner.x
        && outer.y <= inner.y
        && outer.x + outer.w >= inner.x + inner.w
        && outer.y + outer.h >= inner.y + inner.h
}
