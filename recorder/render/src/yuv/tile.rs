//! A video layer's source frame scaled into the part of the output it shows: Y at luma
//! resolution over the visible rectangle, U and V over the chroma samples that rectangle touches.
//! Kept between frames and made again only when the frame or the geometry changed.

use vcs_scene::IntRect;

use super::scale::{Crop, Plane, PlaneScaler};
use super::{I420Ref, YuvSpace};
use crate::compose::LayerMapping;

/// What a tile was made from; an equal key means the tile's pixels are still right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileKey {
    /// The decoded frame's identity (unique per decoded frame).
    pub frame_id: u64,
    pub mapping: LayerMapping,
    pub visible: IntRect,
}

/// The scaled planes of one layer.
#[derive(Default)]
pub struct Tile {
    pub key: Option<TileKey>,
    /// `visible.w × visible.h`.
    pub y: Vec<u8>,
    /// Chroma columns `[cx0, cx0 + cw)` and rows `[cy0, cy0 + ch)` of the output.
    pub cx0: i32,
    pub cy0: i32,
    pub cw: u32,
    pub ch: u32,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// The chroma samples `[floor(a / 2), ceil(b / 2))` touched by luma `[a, b)`.
pub fn chroma_span(a: i32, b: i32) -> (i32, i32) {
    (a.div_euclid(2), (b + 1).div_euclid(2))
}

impl Tile {
    /// Scales `src` per `key` into this tile's planes, converting to `out_space` if the frame is
    /// in another. Returns `false` (tile unusable) when the frame cannot be read.
    pub fn make(
        &mut self,
        scaler: &mut PlaneScaler,
        src: &I420Ref<'_>,
        key: TileKey,
        out_space: YuvSpace,
    ) -> bool {
        self.key = None;
        if !src.is_valid() {
            return false;
        }
        let (map, vis) = (key.mapping, key.visible);
        let (sw, sh) = (src.layout.width, src.layout.height);
        let (scw, sch) = src.layout.chroma_size();
        let [py, pu, pv] = src.layout.planes(src.data);
        let strides = src.layout.strides;
        let plane = |data, i: usize, (width, rows)| Plane {
            data,
            stride: strides[i],
            width,
            rows,
        };
        let (vw, vh) = (vis.w as u32, vis.h as u32);
        self.y.resize(vw as usize * vh as usize, 0);
        let (left, top, width, height) = map.source_crop(vis, sw, sh);
        let crop = Crop {
            left,
            top,
            width,
            height,
        };
        if !scaler.scale(plane(py, 0, (sw, sh)), crop, &mut self.y, vw, vh) {
            return false;
        }
        // Chroma: the samples the visible rectangle touches, mapped through the same affine map
        // at half resolution (a chroma sample is centred on its 2×2 luma block).
        let (cx0, cx1) = chroma_span(vis.x, vis.x + vis.w);
        let (cy0, cy1) = chroma_span(vis.y, vis.y + vis.h);
        let (cw, ch) = ((cx1 - cx0) as u32, (cy1 - cy0) as u32);
        let spd = map.src_per_dst as f64;
        let left = (map.src_origin.0 as f64 + (2 * cx0 - map.dst.x) as f64 * spd) / 2.0;
        let top = (map.src_origin.1 as f64 + (2 * cy0 - map.dst.y) as f64 * spd) / 2.0;
        let (left, top) = (left.clamp(0.0, scw as f64), top.clamp(0.0, sch as f64));
        let ccrop = Crop {
            left,
            top,
            width: (cw as f64 * spd).min(scw as f64 - left),
            height: (ch as f64 * spd).min(sch as f64 - top),
        };
        self.u.resize(cw as usize * ch as usize, 0);
        self.v.resize(cw as usize * ch as usize, 0);
        for (i, data, out) in [(1, pu, &mut self.u), (2, pv, &mut self.v)] {
            if !scaler.scale(plane(data, i, (scw, sch)), ccrop, out, cw, ch) {
                return false;
            }
        }
        (self.cx0, self.cy0, self.cw, self.ch) = (cx0, cy0, cw, ch);
        if let Some(t) = src.space.transform_to(out_space) {
            self.convert(vis, &t);
        }
        self.key = Some(key);
        true
    }

    /// Re-expresses the tile's samples in another space (a frame of another matrix or range).
    /// Each luma pixel uses the chroma sample over it; each chroma sample the mean luma of the
    /// block's pixels inside the tile.
    fn convert(&mut self, vis: IntRect, t: &super::YuvTransform) {
        let vw = vis.w as usize;
        let mut u2 = self.u.clone();
        let mut v2 = self.v.clone();
        for cy in 0..self.ch as usize {
            for cx in 0..self.cw as usize {
                let (mut sum, mut n) = (0u32, 0u32);
                for dy in 0..2 {
                    for dx in 0..2 {
                        let ly = 2 * (self.cy0 + cy as i32) + dy - vis.y;
                        let lx = 2 * (self.cx0 + cx as i32) + dx - vis.x;
                        if (0..vis.h).contains(&ly) && (0..vis.w).contains(&lx) {
                            sum += self.y[ly as usize * vw + lx as usize] as u32;
                            n += 1;
                        }
                    }
                }
                let y = (sum / n.max(1)) as u8;
                let i = cy * self.cw as usize + cx;
                u2[i] = t.component(1, y, self.u[i], self.v[i]);
                v2[i] = t.component(2, y, self.u[i], self.v[i]);
            }
        }
        for ly in 0..vis.h {
            let ci = ((vis.y + ly).div_euclid(2) - self.cy0) as usize * self.cw as usize;
            for lx in 0..vis.w {
                let c = ci + ((vis.x + lx).div_euclid(2) - self.cx0) as usize;
                let i = ly as usize * vw + lx as usize;
                self.y[i] = t.component(0, self.y[i], self.u[c], self.v[c]);
            }
        }
        self.u = u2;
        self.v = v2;
    }
}
