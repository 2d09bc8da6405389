//! Calling the standard layout functions (`#vcs-stdlib/layouts`) from Rust without running a
//! composition: what frame `grid` gives item 3 of 7 in 1280×720. The layout maths is JS (it
//! is what compositions import), so this is how it is checked against Daily's reference maths
//! case by case (`tests/engine_layouts.rs`) — hundreds of calls in one small realm, where a
//! composition per case would cost a full engine each.

use std::rc::Rc;

use boa_engine::{Context, JsError, JsObject, JsString, JsValue};
use serde_json::{Value, json};

use super::modules::{self, Loader};
use super::{Composition, EngineError};

/// A frame in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// A boa realm holding only the layouts module.
pub struct LayoutProbe {
    ctx: Context,
    layouts: JsObject,
}

impl LayoutProbe {
    pub fn new() -> Result<LayoutProbe, EngineError> {
        let loader = Rc::new(Loader::new(&Composition::from_sources("layouts", "", [])));
        let mut ctx = modules::new_realm(&loader)?;
        let js_error = |e: JsError, _: &Rc<Loader>, _: &mut Context| js(e.to_string());
        let layouts = modules::evaluate(&loader, &mut ctx, "vcs:layouts", &js_error)?;
        Ok(LayoutProbe { ctx, layouts })
    }

    /// `name(parent, params, {viewport, pixelsPerGridUnit})` → the frame it returns.
    pub fn call(
        &mut self,
        name: &str,
        parent: Frame,
        params: &Value,
        viewport: (u32, u32),
    ) -> Result<Frame, EngineError> {
        let f = self
            .layouts
            .get(JsString::from(name), &mut self.ctx)
            .map_err(|e| js(e.to_string()))?;
        let f = f
            .as_callable()
            .ok_or_else(|| js(format!("no layout function {name}")))?;
        let (vw, vh) = viewport;
        let ctx_obj = json!({
            "viewport": {"x": 0, "y": 0, "w": vw, "h": vh},
            "pixelsPerGridUnit": f64::from(vw.min(vh)) / 36.0,
        });
        let parent = json!({"x": parent.x, "y": parent.y, "w": parent.w, "h": parent.h});
        let args = [&parent, params, &ctx_obj]
            .map(|v| JsValue::from_json(v, &mut self.ctx))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| js(e.to_string()))?;
        let out = f
            .call(&JsValue::undefined(), &args, &mut self.ctx)
            .map_err(|e| js(e.to_string()))?
            .to_json(&mut self.ctx)
            .map_err(|e| js(e.to_string()))?
            .unwrap_or(Value::Null);
        let n = |k: &str| out.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        Ok(Frame {
            x: n("x"),
            y: n("y"),
            w: n("w"),
            h: n("h"),
        })
    }
}

fn js(message: String) -> EngineError {
    EngineError::Js {
        message,
        stack: Default::default(),
    }
}
