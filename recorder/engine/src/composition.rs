//! Composition sources: a built-in (embedded in the binary), a single file, or a folder, plus an
//! optional session-assets folder whose files override the composition's.
//!
//! Everything is read into memory once; the engine never touches the filesystem afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::EngineError;

/// Files of a built-in composition: (composition-relative path, contents).
type BuiltinFiles = &'static [(&'static str, &'static str)];

/// Built-in compositions, embedded from `recorder/compositions/<name>/`.
const BUILTINS: &[(&str, BuiltinFiles)] = &[
    (
        "baseline",
        &[
            (
                "index.jsx",
                include_str!("../../compositions/baseline/index.jsx"),
            ),
            (
                "params.js",
                include_str!("../../compositions/baseline/params.js"),
            ),
            (
                "components/Overlays.jsx",
                include_str!("../../compositions/baseline/components/Overlays.jsx"),
            ),
            (
                "components/CustomOverlay.js",
                include_str!("../../compositions/baseline/components/CustomOverlay.js"),
            ),
        ],
    ),
    (
        "demo",
        &[(
            "index.jsx",
            include_str!("../../compositions/demo/index.jsx"),
        )],
    ),
];

/// Folders the renderer resolves a composition's and a session's images from: a folder
/// composition's `images/`, or the `images/` beside a single-file composition, then the
/// session-assets folder's `images/` and the folder itself.
pub fn image_dirs(composition: &str, session_assets: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let composition = PathBuf::from(composition);
    if composition.is_dir() {
        dirs.push(composition.join("images"));
    } else if let Some(parent) = composition.parent()
        && composition.is_file()
    {
        dirs.push(parent.join("images"));
    }
    if let Some(assets) = session_assets {
        dirs.extend([assets.join("images"), assets.to_path_buf()]);
    }
    dirs
}

/// Largest source file accepted.
const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;
/// Most files walked in a composition folder.
const MAX_FILES: usize = 2000;

const SCRIPT_EXTS: &[&str] = &["jsx", "tsx", "js", "ts", "mjs"];

/// A composition's sources, loaded into memory.
#[derive(Debug, Clone)]
pub struct Composition {
    /// Built-in name or the path it was loaded from.
    pub name: String,
    /// Composition-relative path of the entry module (e.g. `index.jsx`).
    pub entry: String,
    /// Script sources by composition-relative path (`/`-separated).
    pub sources: BTreeMap<String, String>,
    /// Image names under `images/` (with extension), with their sidecar size when given.
    pub images: BTreeMap<String, Option<(u32, u32)>>,
    /// Font folders (composition `fonts/`, session `fonts/`), for the text module.
    pub font_dirs: Vec<PathBuf>,
}

impl Composition {
    /// A built-in name (embedded from `recorder/compositions/<name>/`) or a path to a file or folder.
    pub fn resolve(name_or_path: &str) -> Result<Composition, EngineError> {
        if let Some((name, files)) = BUILTINS.iter().find(|(n, _)| *n == name_or_path) {
            return Ok(Self::from_builtin(name, files));
        }
        let path = Path::new(name_or_path);
        if path.is_file() {
            Self::from_file(path)
        } else if path.is_dir() {
            Self::from_dir(path)
        } else {
            Err(EngineError::UnknownComposition {
                name: name_or_path.to_string(),
                known: Self::builtin_names(),
            })
        }
    }

    pub fn builtin_names() -> Vec<&'static str> {
        BUILTINS.iter().map(|(n, _)| *n).collect()
    }

    /// A composition from in-memory sources (tests, embedding). `entry` must be one of `sources`.
    pub fn from_sources(
        name: &str,
        entry: &str,
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Composition {
        Composition {
            name: name.to_string(),
            entry: entry.to_string(),
            sources: sources.into_iter().collect(),
            images: BTreeMap::new(),
            font_dirs: Vec::new(),
        }
    }

    fn from_builtin(name: &str, files: BuiltinFiles) -> Composition {
        let sources: BTreeMap<String, String> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let entry = find_entry(&sources).unwrap_or_else(|| "index.jsx".into());
        Composition {
            name: name.to_string(),
            entry,
            sources,
            images: BTreeMap::new(),
            font_dirs: Vec::new(),
        }
    }

    fn from_file(path: &Path) -> Result<Composition, EngineError> {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "index.jsx".into());
        let source = read_source(path)?;
        Ok(Composition {
            name: path.display().to_string(),
            entry: file.clone(),
            sources: BTreeMap::from([(file, source)]),
            images: BTreeMap::new(),
            font_dirs: Vec::new(),
        })
    }

    fn from_dir(dir: &Path) -> Result<Composition, EngineError> {
        let mut c = Composition {
            name: dir.display().to_string(),
            entry: String::new(),
            sources: BTreeMap::new(),
            images: BTreeMap::new(),
            font_dirs: Vec::new(),
        };
        c.overlay_dir(dir, false)?;
        c.entry = find_entry(&c.sources).ok_or_else(|| EngineError::NoEntry {
            path: dir.display().to_string(),
        })?;
        Ok(c)
    }

    /// Applies a session-assets folder: `images/` and `fonts/` are added (replacing images of
    /// the same name), and script files at its root, in `components/` or in
    /// `components/overrides/` replace the composition's files of the same path (the
    /// `overrides/` level is folded into `components/`).
    pub fn with_session_assets(mut self, dir: &Path) -> Result<Composition, EngineError> {
        self.overlay_dir(dir, true)?;
        Ok(self)
    }

    fn overlay_dir(&mut self, dir: &Path, session: bool) -> Result<(), EngineError> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        for rel in files {
            let full = dir.join(&rel);
            let ext = Path::new(&rel)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("");
            if let Some(name) = rel.strip_prefix("images/") {
                if let Some(img) = name.strip_suffix(".json") {
                    let size = std::fs::read_to_string(&full)
                        .ok()
                        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                        .and_then(|v| {
                            Some((v["width"].as_u64()? as u32, v["height"].as_u64()? as u32))
                        });
                    if size.is_some() {
                        self.images.insert(img.to_string(), size);
                    }
                } else {
                    // A sidecar (seen before or after) wins; else the size from the header.
                    // (sorted walk: `x.png` comes before its sidecar `x.png.json`)
                    let size = image_size(&full);
                    let entry = self.images.entry(name.to_string()).or_insert(None);
                    if entry.is_none() || session {
                        *entry = size;
                    }
                }
            } else if rel.starts_with("fonts/") {
                let fonts = dir.join("fonts");
                if !self.font_dirs.contains(&fonts) {
                    self.font_dirs.push(fonts);
                }
            } else if SCRIPT_EXTS.contains(&ext) {
                let target = if session {
                    match rel.strip_prefix("components/overrides/") {
                        Some(rest) => format!("components/{rest}"),
                        None if rel.starts_with("components/") || !rel.contains('/') => rel.clone(),
                        None => continue,
                    }
                } else {
                    rel.clone()
                };
                let source = read_source(&full)?;
                // An override may change the extension (`.js` replacing `.jsx`): drop the old one.
                let stem = strip_ext(&target).to_string();
                self.sources.retain(|k, _| strip_ext(k) != stem);
                self.sources.insert(target, source);
            }
        }
        Ok(())
    }
}

/// Width and height from a PNG or JPEG header, without decoding the image.
pub fn image_size(path: &Path) -> Option<(u32, u32)> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(256 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    image_size_from_bytes(&head)
}

fn image_size_from_bytes(b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let be16 = |i: usize| Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32);
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?)).filter(|(w, h)| *w > 0 && *h > 0);
    }
    if b.starts_with(&[0xff, 0xd8]) {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                i += 1;
                continue;
            }
            let marker = b[i + 1];
            if marker == 0xff {
                i += 1;
                continue;
            }
            let len = be16(i + 2)? as usize;
            let sof = (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker);
            if sof {
                return Some((be16(i + 7)?, be16(i + 5)?)).filter(|(w, h)| *w > 0 && *h > 0);
            }
            i += 2 + len;
        }
    }
    None
}

fn strip_ext(p: &str) -> &str {
    match p.rfind('.') {
        Some(i) if !p[i..].contains('/') => &p[..i],
        _ => p,
    }
}

fn find_entry(sources: &BTreeMap<String, String>) -> Option<String> {
    [
        "index.jsx",
        "index.tsx",
        "index.js",
        "index.ts",
        "index.mjs",
    ]
    .iter()
    .find(|e| sources.contains_key(**e))
    .map(|e| e.to_string())
}

fn read_source(path: &Path) -> Result<String, EngineError> {
    let io = |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(EngineError::Composition {
            what: "file too large",
            detail: format!(
                "{} is {} bytes (cap {MAX_SOURCE_BYTES})",
                path.display(),
                meta.len()
            ),
        });
    }
    std::fs::read_to_string(path).map_err(io)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), EngineError> {
    let io = |source| EngineError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
        if out.len() > MAX_FILES {
            return Err(EngineError::Composition {
                what: "has too many files",
                detail: format!("more than {MAX_FILES} under {}", root.display()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sizes_come_from_png_and_jpeg_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(640u32.to_be_bytes());
        png.extend(480u32.to_be_bytes());
        assert_eq!(image_size_from_bytes(&png), Some((640, 480)));
        let jpeg = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01,
            0x2c, 0x02, 0x58, 0x03, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(image_size_from_bytes(&jpeg), Some((600, 300)));
        assert_eq!(image_size_from_bytes(b"GIF89a"), None);
    }
}
