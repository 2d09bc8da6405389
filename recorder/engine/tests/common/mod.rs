//! What the engine tests (and the engine bench) share.

use vcs_engine::EngineOptions;
use vcs_text::Fonts;

/// A `width`×`height` frame at `fps`, text measured with the system fonts.
pub fn opts(width: u32, height: u32, fps: u32) -> EngineOptions {
    EngineOptions {
        width,
        height,
        fps,
        fonts: Fonts::system(),
    }
}
