//! The module loader: composition files and the built-in modules, all served from memory.
//!
//! Specifiers a composition may import: relative paths inside the composition (extension and
//! `/index.*` optional), `react`, `#vcs-react/{components,hooks,contexts}`,
//! `#vcs-stdlib/{layouts,components}`, `uuid` and `random-seed`. Anything else fails the
//! import with a message saying what is allowed. The runtime's own modules live under `vcs:`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use boa_engine::builtins::promise::PromiseState;
use boa_engine::module::{ModuleLoader, ModuleRequest, Referrer};
use boa_engine::{Context, JsError, JsNativeError, JsObject, JsResult, Module, Source};

use super::transpile::{Transpiled, transpile};
use super::{Composition, EngineError, Stack};
use crate::host::sandbox;

/// Runtime modules (ours), by specifier.
const RUNTIME: &[(&str, &str)] = &[
    ("vcs:react", include_str!("js/react.js")),
    ("vcs:react/elements", include_str!("js/react/elements.js")),
    ("vcs:react/fibers", include_str!("js/react/fibers.js")),
    ("vcs:react/hooks", include_str!("js/react/hooks.js")),
    ("vcs:runtime", include_str!("js/runtime.js")),
    ("vcs:scene", include_str!("js/scene.js")),
    ("vcs:animate", include_str!("js/animate.js")),
    ("vcs:layouts", include_str!("js/layouts.js")),
    ("vcs:extras", include_str!("js/extras.js")),
    ("vcs:colors", include_str!("js/colors.js")),
    ("vcs:debug", include_str!("js/debug.js")),
    ("vcs:uuid", include_str!("js/uuid.js")),
    ("vcs:random", include_str!("js/random.js")),
];

/// The modules a composition may import by name, as re-exports of the runtime.
const ALIASES: &[(&str, &str)] = &[
    (
        "react",
        "import * as R from 'vcs:react';
export const { Fragment, createElement, cloneElement, isValidElement, Children, memo, forwardRef,
  createRef, createContext, Component, PureComponent, useState, useReducer, useRef, useMemo,
  useCallback, useEffect, useLayoutEffect, useInsertionEffect, useContext, useImperativeHandle,
  useId, useDebugValue, useTransition, useDeferredValue, useSyncExternalStore, startTransition,
  flushSync, StrictMode, Profiler, Suspense, lazy, createFactory,
  __SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED, version } = R;
const React = { Fragment, createElement, cloneElement, isValidElement, Children, memo, forwardRef,
  createRef, createContext, Component, PureComponent, useState, useReducer, useRef, useMemo,
  useCallback, useEffect, useLayoutEffect, useInsertionEffect, useContext, useImperativeHandle,
  useId, useDebugValue, useTransition, useDeferredValue, useSyncExternalStore, startTransition,
  flushSync, StrictMode, Profiler, Suspense, lazy, createFactory,
  __SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED, version };
export default React;",
    ),
    (
        "#vcs-react/components",
        "export { Box, Text, Image, Video, Emoji, WebFrame } from 'vcs:runtime';",
    ),
    (
        "#vcs-react/hooks",
        "export { useParams, useVideoTime, useVideoPlaybackState, useMediaInput, useViewportSize,
  useGrid, useActiveVideo, useStandardSources, useAudioOnlyPeers, useUnpausedPeers,
  PlaybackStateType } from 'vcs:runtime';",
    ),
    (
        "#vcs-react/contexts",
        "export { CompositionDataContext, TimeContext, MediaInputContext, RoomContext,
  RenderingEnvironmentType, RenderEngineType, PlaybackStateType } from 'vcs:runtime';",
    ),
    (
        "#vcs-stdlib/layouts",
        "export { pad, offset, fit, splitVertical, splitHorizontal, splitAcrossLongerDimension,
  column, grid, simpleLineGrid } from 'vcs:layouts';",
    ),
    (
        "#vcs-stdlib/components",
        "export { debug } from 'vcs:debug';
export { VideoGrid } from 'vcs:extras';",
    ),
    (
        "uuid",
        "export { MAX, NIL, parse, stringify, v1, v1ToV6, v3, v4, v5, v6, v6ToV1, v7, validate,
  version } from 'vcs:uuid';",
    ),
    (
        "random-seed",
        "import { randomSeed, createRandom } from 'vcs:random';
export const create = createRandom;
export default randomSeed;",
    ),
];

const EXTS: &[&str] = &["jsx", "tsx", "js", "ts", "mjs"];

/// Serves modules from memory and remembers how generated lines map back to source lines.
pub struct Loader {
    sources: RefCell<HashMap<String, String>>,
    cache: RefCell<HashMap<String, Module>>,
    line_maps: RefCell<HashMap<String, Transpiled>>,
    /// The first load error, kept as a typed error (JS only sees a TypeError).
    error: RefCell<Option<EngineError>>,
}

impl Loader {
    pub fn new(composition: &Composition) -> Loader {
        Loader {
            sources: RefCell::new(composition.sources.clone().into_iter().collect()),
            cache: RefCell::new(HashMap::new()),
            line_maps: RefCell::new(HashMap::new()),
            error: RefCell::new(None),
        }
    }

    /// Takes the typed error behind the last failed load, if any.
    pub fn take_error(&self) -> Option<EngineError> {
        self.error.borrow_mut().take()
    }

    /// Maps a generated line of a composition file to its source line.
    pub fn source_line(&self, file: &str, generated: u32) -> Option<u32> {
        self.line_maps.borrow().get(file)?.source_line(generated)
    }

    /// Whether `file` is one of the composition's files (not a runtime module).
    pub fn is_composition_file(&self, file: &str) -> bool {
        self.line_maps.borrow().contains_key(file)
    }

    fn fail(&self, e: EngineError) -> boa_engine::JsError {
        let msg = e.to_string();
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(e);
        }
        JsNativeError::typ().with_message(msg).into()
    }

    /// Loads (parses, not evaluates) the module for a resolved specifier.
    pub fn load(&self, spec: &str, ctx: &mut Context) -> JsResult<Module> {
        if let Some(m) = self.cache.borrow().get(spec) {
            return Ok(m.clone());
        }
        let module = if let Some((_, code)) = RUNTIME
            .iter()
            .chain(ALIASES.iter())
            .find(|(name, _)| *name == spec)
        {
            Module::parse(
                Source::from_bytes(code).with_path(Path::new(spec)),
                None,
                ctx,
            )?
        } else {
            let source = self.sources.borrow().get(spec).cloned().ok_or_else(|| {
                self.fail(EngineError::Import {
                    specifier: spec.to_string(),
                    from: "the composition".into(),
                    reason: "no such file".into(),
                })
            })?;
            let t = transpile(spec, &source).map_err(|e| self.fail(e))?;
            let parsed = Module::parse(
                Source::from_bytes(t.code.as_bytes()).with_path(Path::new(spec)),
                None,
                ctx,
            );
            self.line_maps.borrow_mut().insert(spec.to_string(), t);
            parsed?
        };
        self.cache
            .borrow_mut()
            .insert(spec.to_string(), module.clone());
        Ok(module)
    }

    /// Resolves a specifier imported from `referrer` (a composition-relative path or a
    /// runtime module name).
    pub fn resolve(&self, specifier: &str, referrer: Option<&str>) -> Result<String, EngineError> {
        let from = referrer.unwrap_or("the composition").to_string();
        if ALIASES.iter().any(|(n, _)| *n == specifier) {
            return Ok(specifier.to_string());
        }
        if specifier.starts_with("vcs:") {
            // Runtime-internal modules are reachable from the runtime only.
            if referrer.is_some_and(is_builtin) && RUNTIME.iter().any(|(n, _)| *n == specifier) {
                return Ok(specifier.to_string());
            }
        } else if specifier.starts_with("./") || specifier.starts_with("../") {
            let base = referrer
                .filter(|r| !is_builtin(r))
                .and_then(|r| r.rsplit_once('/').map(|(d, _)| d))
                .unwrap_or("");
            let joined = normalise(base, specifier).ok_or_else(|| EngineError::Import {
                specifier: specifier.to_string(),
                from: from.clone(),
                reason: "the path leaves the composition folder".into(),
            })?;
            let sources = self.sources.borrow();
            let candidates = std::iter::once(joined.clone())
                .chain(EXTS.iter().map(|e| format!("{joined}.{e}")))
                .chain(EXTS.iter().map(|e| format!("{joined}/index.{e}")));
            for c in candidates {
                if sources.contains_key(&c) {
                    return Ok(c);
                }
            }
            return Err(EngineError::Import {
                specifier: specifier.to_string(),
                from,
                reason: format!("no file {joined}(.jsx|.tsx|.js|.ts) in the composition"),
            });
        }
        Err(EngineError::Import {
            specifier: specifier.to_string(),
            from,
            reason: "only relative paths, react, #vcs-react/*, #vcs-stdlib/*, uuid and random-seed can be imported".into(),
        })
    }
}

/// Whether a module path is ours (runtime or alias), not the composition's.
fn is_builtin(path: &str) -> bool {
    path.starts_with("vcs:") || ALIASES.iter().any(|(n, _)| *n == path)
}

fn normalise(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The boa-facing loader; shares state with the engine through an `Rc`.
pub struct BoaLoader(pub Rc<Loader>);

impl ModuleLoader for BoaLoader {
    async fn load_imported_module(
        self: Rc<Self>,
        referrer: Referrer,
        request: ModuleRequest,
        context: &RefCell<&mut Context>,
    ) -> JsResult<Module> {
        let spec = request.specifier().to_std_string_escaped();
        let from = referrer
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        let resolved = self
            .0
            .resolve(&spec, from.as_deref())
            .map_err(|e| self.0.fail(e))?;
        self.0.load(&resolved, &mut context.borrow_mut())
    }
}

/// A fresh realm that loads modules through `loader`, with the sandbox's runtime limits: the
/// one bootstrap of every JS context the engine makes ([`crate::Engine`], the layout probe).
pub(crate) fn new_realm(loader: &Rc<Loader>) -> Result<Context, EngineError> {
    let mut ctx = Context::builder()
        .module_loader(Rc::new(BoaLoader(loader.clone())))
        .build()
        .map_err(|e| EngineError::Js {
            message: e.to_string(),
            stack: Stack::default(),
        })?;
    sandbox::apply_limits(&mut ctx);
    Ok(ctx)
}

/// Loads, links and evaluates module `spec`, returning its namespace; errors the loader
/// recorded (with their file and line) win over the JS error.
pub(crate) fn evaluate(
    loader: &Rc<Loader>,
    ctx: &mut Context,
    spec: &str,
    js_error: &impl Fn(JsError, &Rc<Loader>, &mut Context) -> EngineError,
) -> Result<JsObject, EngineError> {
    let module = loader
        .load(spec, ctx)
        .map_err(|e| match loader.take_error() {
            Some(typed) => typed,
            None => js_error(e, loader, ctx),
        })?;
    let promise = module.load_link_evaluate(ctx);
    if let Err(e) = ctx.run_jobs() {
        return Err(loader
            .take_error()
            .unwrap_or_else(|| js_error(e, loader, ctx)));
    }
    match promise.state() {
        PromiseState::Fulfilled(_) => Ok(module.namespace(ctx)),
        PromiseState::Rejected(err) => Err(loader
            .take_error()
            .unwrap_or_else(|| js_error(JsError::from_opaque(err), loader, ctx))),
        PromiseState::Pending => Err(EngineError::Composition {
            what: "did not finish evaluating",
            detail: "top-level await is not supported".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loader(files: &[&str]) -> Loader {
        Loader::new(&Composition::from_sources(
            "t",
            "index.jsx",
            files.iter().map(|f| (f.to_string(), String::new())),
        ))
    }

    #[test]
    fn relative_imports_resolve_with_optional_extension_and_index() {
        let l = loader(&[
            "index.jsx",
            "components/Title.jsx",
            "components/list/index.tsx",
        ]);
        assert_eq!(
            l.resolve("./components/Title", Some("index.jsx")).unwrap(),
            "components/Title.jsx"
        );
        assert_eq!(
            l.resolve("../index.jsx", Some("components/Title.jsx"))
                .unwrap(),
            "index.jsx"
        );
        assert_eq!(
            l.resolve("./list", Some("components/Title.jsx")).unwrap(),
            "components/list/index.tsx"
        );
        assert_eq!(l.resolve("react", Some("index.jsx")).unwrap(), "react");
    }

    #[test]
    fn forbidden_and_escaping_imports_are_rejected() {
        let l = loader(&["index.jsx"]);
        let e = l.resolve("fs", Some("index.jsx")).unwrap_err().to_string();
        assert!(e.contains("cannot import \"fs\" from index.jsx"), "{e}");
        assert!(l.resolve("../../etc/passwd", Some("index.jsx")).is_err());
        assert!(l.resolve("vcs:react", Some("index.jsx")).is_err());
        assert!(l.resolve("vcs:react", Some("vcs:runtime")).is_ok());
    }
}
