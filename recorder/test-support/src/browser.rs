//! [`Browser`]: Debian's headless Chromium driven over the DevTools protocol by the
//! `headless_chrome` crate, for tests of web pages (the preview page). The crate starts the
//! Chromium we point it at (never a downloaded one) and talks to it on a loopback port.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::{Emulation, Page, Runtime};
use headless_chrome::{LaunchOptions, Tab};
use serde_json::Value;

use crate::TempDir;
use crate::process::find_program;

/// How long one DevTools call may take on a loaded machine.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The crate closes a browser that sent nothing for this long; a test may wait a while on a
/// loaded machine between calls.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A headless Chromium with one page open; closed on drop.
pub struct Browser {
    tab: Arc<Tab>,
    // Dropped after the tab: the browser process goes before its profile folder.
    _browser: headless_chrome::Browser,
    _profile: TempDir,
}

impl Browser {
    /// Chromium's path, or `None` (tests then say they skipped: `scripts/install-deps` installs it).
    pub fn find() -> Option<PathBuf> {
        find_program("chromium").or_else(|| find_program("chromium-browser"))
    }

    /// Starts `chromium` headless with a fresh profile and opens a blank page of `width`×`height`.
    pub fn launch(chromium: &Path, width: u32, height: u32) -> Browser {
        let profile = TempDir::new("chromium");
        let options = LaunchOptions {
            path: Some(chromium.to_path_buf()),
            headless: true,
            // Tests run as root in containers, where Chromium's sandbox cannot start.
            sandbox: false,
            window_size: Some((width, height)),
            user_data_dir: Some(profile.path().to_path_buf()),
            idle_browser_timeout: IDLE_TIMEOUT,
            args: vec![
                OsStr::new("--disable-gpu"),
                OsStr::new("--disable-quic"),
                OsStr::new("--disable-component-update"),
                OsStr::new("--autoplay-policy=no-user-gesture-required"),
            ],
            ..LaunchOptions::default()
        };
        let browser = headless_chrome::Browser::new(options)
            .unwrap_or_else(|e| panic!("cannot start {}: {e:#}", chromium.display()));
        let tab = browser.new_tab().expect("a page in chromium");
        tab.set_default_timeout(CALL_TIMEOUT);
        tab.call_method(Emulation::SetDeviceMetricsOverride {
            width,
            height,
            device_scale_factor: 1.0,
            mobile: false,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .expect("DevTools Emulation.setDeviceMetricsOverride");
        Browser {
            tab,
            _browser: browser,
            _profile: profile,
        }
    }

    /// Loads `url` (returns once navigation started; wait for the page's own readiness).
    pub fn navigate(&mut self, url: &str) {
        self.tab
            .navigate_to(url)
            .unwrap_or_else(|e| panic!("DevTools cannot navigate to {url}: {e:#}"));
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value as JSON;
    /// an exception in the page is `Err` with its description.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self
            .tab
            .call_method(Runtime::Evaluate {
                expression: expression.to_string(),
                return_by_value: Some(true),
                await_promise: Some(true),
                object_group: None,
                include_command_line_api: None,
                silent: None,
                context_id: None,
                generate_preview: None,
                user_gesture: None,
                throw_on_side_effect: None,
                timeout: None,
                disable_breaks: None,
                repl_mode: None,
                allow_unsafe_eval_blocked_by_csp: None,
                unique_context_id: None,
                serialization_options: None,
            })
            .unwrap_or_else(|e| panic!("DevTools Runtime.evaluate failed: {e:#}"));
        if let Some(ex) = r.exception_details {
            return Err(ex.exception.and_then(|e| e.description).unwrap_or(ex.text));
        }
        Ok(r.result.value.unwrap_or(Value::Null))
    }

    /// A PNG of the page as it is now, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let png = self
            .tab
            .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
            .unwrap_or_else(|e| panic!("DevTools Page.captureScreenshot failed: {e:#}"));
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
