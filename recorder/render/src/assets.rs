//! Images by name: looked up in a list of folders, decoded once (PNG, JPEG) and cached.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tiny_skia::{IntSize, Pixmap};

/// Largest image side accepted, in pixels; bigger images are refused with a warning (a
/// 16384² RGBA image is already 1 GiB).
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// Largest image file read, in bytes.
pub const MAX_IMAGE_BYTES: u64 = 64 * 1024 * 1024;

/// Extensions tried, in order, for an id given without one (`"logo"` → `logo.png`).
const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "svg"];
/// SVGs are rasterised at this multiple of their own size for rotated or skewed draws (other
/// draws render the vector tree at the destination size).
const SVG_SCALE: f32 = 2.0;

/// A decoded image: premultiplied pixels and its intrinsic size. The pixels may be denser than
/// the intrinsic size (SVGs are rasterised at [`SVG_SCALE`]×); source rectangles of
/// `drawImage` are in intrinsic units.
#[derive(Debug)]
pub struct Image {
    pub pixmap: Pixmap,
    pub width: u32,
    pub height: u32,
    /// The vector source of an SVG, so axis-aligned draws render it at their exact size.
    pub svg: Option<Arc<resvg::usvg::Tree>>,
    /// Unique per decoded image (never reused, unlike an address): the resample cache key.
    pub(crate) uid: u64,
}

fn next_uid() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Image {
    pub fn from_pixmap(pixmap: Pixmap) -> Image {
        let (width, height) = (pixmap.width(), pixmap.height());
        Image {
            pixmap,
            width,
            height,
            svg: None,
            uid: next_uid(),
        }
    }

    /// Pixels per intrinsic unit, horizontally and vertically.
    pub fn density(&self) -> (f32, f32) {
        (
            self.pixmap.width() as f32 / self.width.max(1) as f32,
            self.pixmap.height() as f32 / self.height.max(1) as f32,
        )
    }
}

/// Image lookup for `drawImage` and the engine's intrinsic sizes. Folders are searched in the
/// order given (so put the session's `images/` before the composition's to let it override);
/// each image is decoded at most once. Cheap to share behind an `Arc`; `Send + Sync`.
#[derive(Debug, Default)]
pub struct Assets {
    dirs: Vec<PathBuf>,
    cache: Mutex<HashMap<String, Option<Arc<Image>>>>,
    warned: Mutex<HashSet<String>>,
    /// Images already resampled to a destination's device size (see [`Assets::resampled`]).
    resampled: Mutex<ResampleCache>,
}

/// What a resampled image depends on: the source image (by its uid), the source rectangle,
/// the device size and the sub-pixel offset, all as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ResampleKey {
    pub image: u64,
    pub src: [u32; 4],
    pub dst: [u32; 4],
}

#[derive(Debug, Default)]
struct ResampleCache {
    images: HashMap<ResampleKey, Arc<Pixmap>>,
    bytes: usize,
}

/// Most bytes of resampled images kept before the cache is emptied.
const RESAMPLE_CACHE_BYTES: usize = 128 * 1024 * 1024;

impl Assets {
    /// No images: every `drawImage` draws the missing-image placeholder.
    pub fn none() -> Assets {
        Assets::default()
    }

    /// Images resolved by name in `dirs`, first match wins.
    pub fn from_dirs(dirs: Vec<PathBuf>) -> Assets {
        Assets {
            dirs,
            ..Assets::default()
        }
    }

    /// Width and height of image `id`, decoding it if needed; `None` if it cannot be found or
    /// decoded. A `<file>.json` sidecar `{"width":W,"height":H}` beside it answers first.
    pub fn intrinsic_size(&self, id: &str) -> Option<(u32, u32)> {
        if let Some(size) = self.find(id).and_then(|path| sidecar_size(&path)) {
            return Some(size);
        }
        self.image(id).map(|p| (p.width, p.height))
    }

    /// The decoded image, premultiplied; `None` (with one warning naming it) if it is missing
    /// or cannot be decoded.
    pub fn image(&self, id: &str) -> Option<Arc<Image>> {
        if let Some(cached) = lock(&self.cache).get(id) {
            return cached.clone();
        }
        let decoded = match self.find(id) {
            None => Err(format!(
                "not found in {}",
                if self.dirs.is_empty() {
                    "any assets folder (none given)".to_string()
                } else {
                    self.dirs
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )),
            Some(path) => decode_file(&path).map_err(|e| format!("{}: {e}", path.display())),
        };
        let image = match decoded {
            Ok(p) => Some(Arc::new(p)),
            Err(why) => {
                self.warn_once(id, &why);
                None
            }
        };
        lock(&self.cache).insert(id.to_string(), image.clone());
        image
    }

    /// The image resampled for `key`, made by `make` on first use. Images drawn every frame at
    /// the same place and size (logos, backgrounds) are then a plain copy, not a filter pass.
    pub(crate) fn resampled(
        &self,
        key: ResampleKey,
        make: impl FnOnce() -> Option<Pixmap>,
    ) -> Option<Arc<Pixmap>> {
        if let Some(p) = lock(&self.resampled).images.get(&key) {
            return Some(p.clone());
        }
        let p = Arc::new(make()?);
        let mut cache = lock(&self.resampled);
        let size = p.data().len();
        if cache.bytes + size > RESAMPLE_CACHE_BYTES {
            cache.images.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        cache.images.insert(key, p.clone());
        Some(p)
    }

    fn warn_once(&self, id: &str, why: &str) {
        if lock(&self.warned).insert(id.to_string()) {
            tracing::warn!(
                image = id,
                cause = why,
                "image cannot be drawn; drawing a placeholder"
            );
        }
    }

    /// The file for `id`: `dir/id`, then `dir/id.<ext>` when `id` has no extension.
    fn find(&self, id: &str) -> Option<PathBuf> {
        // Names only: an id must not walk out of the assets folders.
        if id.is_empty() || id.contains("..") || Path::new(id).is_absolute() {
            return None;
        }
        let has_ext = Path::new(id).extension().is_some();
        for dir in &self.dirs {
            let exact = dir.join(id);
            if exact.is_file() {
                return Some(exact);
            }
            if !has_ext {
                for ext in EXTENSIONS {
                    let p = dir.join(format!("{id}.{ext}"));
                    if p.is_file() {
                        return Some(p);
                    }
                }
            }
        }
        None
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn sidecar_size(image: &Path) -> Option<(u32, u32)> {
    let mut name = image.as_os_str().to_owned();
    name.push(".json");
    let text = std::fs::read_to_string(PathBuf::from(name)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let dim = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .filter(|&n| n > 0 && n <= u64::from(MAX_IMAGE_SIDE))
            .map(|n| n as u32)
    };
    Some((dim("width")?, dim("height")?))
}

/// Decodes a PNG, JPEG or SVG file (sniffed by content, not extension).
pub fn decode_file(path: &Path) -> Result<Image, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_IMAGE_BYTES {
        return Err(format!(
            "{len} bytes is over the {MAX_IMAGE_BYTES}-byte cap"
        ));
    }
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    decode(&data)
}

/// Decodes PNG, JPEG or SVG bytes.
pub fn decode(data: &[u8]) -> Result<Image, String> {
    if data.starts_with(b"\x89PNG") {
        let pixmap = Pixmap::decode_png(data).map_err(|e| format!("bad PNG: {e}"))?;
        check_size(pixmap.width(), pixmap.height())?;
        Ok(Image::from_pixmap(pixmap))
    } else if data.starts_with(&[0xFF, 0xD8]) {
        decode_jpeg(data).map(Image::from_pixmap)
    } else if looks_like_svg(data) {
        decode_svg(data)
    } else {
        Err("not a PNG, JPEG or SVG file".into())
    }
}

fn looks_like_svg(data: &[u8]) -> bool {
    let head = &data[..data.len().min(1024)];
    let head = String::from_utf8_lossy(head);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    (head.starts_with("<?xml") || head.starts_with("<svg") || head.starts_with("<!--"))
        && head.contains("<svg")
}

/// SVG through resvg (no text: SVG `<text>` is not drawn, no external images).
fn decode_svg(data: &[u8]) -> Result<Image, String> {
    let tree = resvg::usvg::Tree::from_data(data, &resvg::usvg::Options::default())
        .map_err(|e| format!("bad SVG: {e}"))?;
    let size = tree.size();
    let (w, h) = (size.width().ceil() as u32, size.height().ceil() as u32);
    check_size(w, h)?;
    let scale = SVG_SCALE
        .min(MAX_IMAGE_SIDE as f32 / w.max(h).max(1) as f32)
        .max(1.0);
    let (pw, ph) = (
        (w as f32 * scale).ceil() as u32,
        (h as f32 * scale).ceil() as u32,
    );
    let mut pixmap = Pixmap::new(pw.max(1), ph.max(1)).ok_or("bad SVG: empty size")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok(Image {
        pixmap,
        width: w.max(1),
        height: h.max(1),
        svg: Some(Arc::new(tree)),
        uid: next_uid(),
    })
}

fn check_size(w: u32, h: u32) -> Result<(), String> {
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(format!("{w}×{h} is over the {MAX_IMAGE_SIDE} px cap"));
    }
    Ok(())
}

fn decode_jpeg(data: &[u8]) -> Result<Pixmap, String> {
    use zune_jpeg::JpegDecoder;
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;

    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGBA)
        .set_max_width(MAX_IMAGE_SIDE as usize)
        .set_max_height(MAX_IMAGE_SIDE as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    let pixels = decoder.decode().map_err(|e| format!("bad JPEG: {e:?}"))?;
    let info = decoder.info().ok_or("bad JPEG: no header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    check_size(w, h)?;
    if pixels.len() != (w as usize) * (h as usize) * 4 {
        return Err(format!(
            "bad JPEG: decoded {} bytes for {w}×{h}",
            pixels.len()
        ));
    }
    // JPEG has no alpha, so RGBA with a = 255 is already premultiplied.
    let size = IntSize::from_wh(w, h).ok_or("bad JPEG: empty image")?;
    Pixmap::from_vec(pixels, size).ok_or_else(|| "bad JPEG: size mismatch".into())
}
