//! `test:` URIs: synthetic participants for demos and tests, so nothing needs media files.
//!
//! Forms: `test:` (a distinct colour and tone picked from the participant's index),
//! `test:<colour>` (any CSS colour: `test:red`, `test:#ff8800`), and query options
//! `test:red?tone=440&pattern=ball&size=640x360`. The video is a moving pattern on the colour
//! with the participant's name written on it; the audio is a sine tone. `size` follows the one
//! rule for frame sizes, [`VideoSize`].

use vcs_job::VideoSize;

/// Colours picked for bare `test:` URIs, in participant order: far apart in hue so tests can
/// tell tiles apart.
pub const PALETTE: [[u8; 3]; 8] = [
    [220, 40, 40],
    [40, 170, 60],
    [40, 90, 220],
    [230, 180, 20],
    [170, 60, 200],
    [20, 190, 200],
    [240, 120, 30],
    [140, 140, 140],
];

/// What a `test:` URI asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSource {
    pub rgb: [u8; 3],
    pub tone_hz: f64,
    /// A GStreamer `videotestsrc` pattern name (`ball` moves over the colour).
    pub pattern: String,
    pub width: u32,
    pub height: u32,
}

/// A `test:` URI that cannot be understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("\"{uri}\": {message}")]
pub struct TestUriError {
    pub uri: String,
    pub message: String,
}

impl TestSource {
    /// Parses a `test:` URI for the participant at `index`.
    pub fn parse(uri: &str, index: usize) -> Result<Self, TestUriError> {
        let fail = |message: String| TestUriError {
            uri: uri.to_string(),
            message,
        };
        let rest = uri
            .strip_prefix("test:")
            .ok_or_else(|| fail("is not a test: URI".into()))?;
        let (colour, query) = rest.split_once('?').unwrap_or((rest, ""));
        let colour = colour.trim_start_matches("//");
        let rgb = if colour.is_empty() {
            PALETTE[index % PALETTE.len()]
        } else {
            let c = csscolorparser::parse(colour)
                .map_err(|_| fail(format!("\"{colour}\" is not a CSS colour")))?;
            let [r, g, b, _] = c.to_rgba8();
            [r, g, b]
        };
        let mut source = TestSource {
            rgb,
            // A different tone per participant, all in the speech band.
            tone_hz: 220.0 + 110.0 * (index % 8) as f64,
            pattern: "ball".into(),
            width: 640,
            height: 360,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| fail(format!("option \"{pair}\" needs a value (key=value)")))?;
            match k {
                "tone" => {
                    source.tone_hz = v
                        .parse()
                        .ok()
                        .filter(|f: &f64| (20.0..=20_000.0).contains(f))
                        .ok_or_else(|| {
                            fail(format!("tone={v} is not a frequency in 20..=20000 Hz"))
                        })?
                }
                "pattern" => source.pattern = v.to_string(),
                "size" => {
                    let size: VideoSize = v.parse().map_err(|e| fail(format!("size={v}: {e}")))?;
                    source.width = size.width();
                    source.height = size.height();
                }
                other => {
                    return Err(fail(format!(
                        "unknown option \"{other}\"; use tone, pattern or size"
                    )));
                }
            }
        }
        Ok(source)
    }

    /// The colour as the 0xAARRGGBB value `videotestsrc` takes.
    pub fn argb(&self) -> u32 {
        let [r, g, b] = self.rgb;
        0xff00_0000 | (r as u32) << 16 | (g as u32) << 8 | b as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_test_uris_get_distinct_colours_and_tones() {
        let a = TestSource::parse("test:", 0).unwrap();
        let b = TestSource::parse("test:", 1).unwrap();
        assert_ne!(a.rgb, b.rgb);
        assert_ne!(a.tone_hz, b.tone_hz);
    }

    #[test]
    fn colours_and_options_are_read() {
        let s = TestSource::parse("test:#ff8800?tone=440&size=320x180&pattern=smpte", 3).unwrap();
        assert_eq!(s.rgb, [255, 136, 0]);
        assert_eq!(s.tone_hz, 440.0);
        assert_eq!((s.width, s.height), (320, 180));
        assert_eq!(s.pattern, "smpte");
        assert_eq!(s.argb(), 0xffff8800);
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        for (uri, want) in [
            ("test:notacolour", "not a CSS colour"),
            ("test:red?tone=5", "tone=5"),
            ("test:red?size=7x7", "size=7x7"),
            ("test:red?volume=3", "unknown option \"volume\""),
            ("test:red?tone", "needs a value"),
        ] {
            let e = TestSource::parse(uri, 0).unwrap_err().to_string();
            assert!(e.contains(want), "{uri}: {e}");
        }
    }
}
