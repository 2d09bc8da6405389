//! The errors a composition author sees on the CLI.

mod common;

use vcs_engine::{Composition, Engine, EngineError};

fn comp(files: &[(&str, &str)]) -> Composition {
    Composition::from_sources(
        "test",
        "index.jsx",
        files.iter().map(|(p, s)| (p.to_string(), s.to_string())),
    )
}

#[test]
fn unknown_composition_lists_builtins() {
    let e = Composition::resolve("no-such-thing").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, EngineError::UnknownComposition { .. }));
    assert!(
        msg.contains("no-such-thing") && msg.contains("demo"),
        "{msg}"
    );
}

#[test]
fn jsx_syntax_error_in_an_imported_file_gives_file_line_col() {
    let c = comp(&[
        (
            "index.jsx",
            "import * as React from 'react';\nimport Title from './components/Title';\nexport default function C() { return <Title/>; }\n",
        ),
        (
            "components/Title.jsx",
            "import * as React from 'react';\nexport default function Title() {\n  const a = ;\n  return null;\n}\n",
        ),
    ]);
    let e = Engine::new(c, common::opts(1280, 720, 30))
        .err()
        .expect("syntax error");
    let msg = e.to_string();
    assert!(msg.starts_with("components/Title.jsx:3:"), "{msg}");
}

#[test]
fn exception_at_render_gives_message_and_composition_stack() {
    let c = comp(&[
        (
            "index.jsx",
            "import * as React from 'react';\nimport { useVideoTime } from '#vcs-react/hooks';\nimport Clock from './Clock';\nexport default function C() {\n  return <Clock/>;\n}\n",
        ),
        (
            "Clock.jsx",
            "import * as React from 'react';\nimport { useVideoTime } from '#vcs-react/hooks';\n\nexport default function Clock() {\n  const t = useVideoTime();\n  if (t > 1) {\n    throw new Error('clock broke at ' + t);\n  }\n  return null;\n}\n",
        ),
    ]);
    let mut e = Engine::new(c, common::opts(1280, 720, 30)).unwrap();
    e.render(0.0).unwrap();
    let err = e.render(2.0).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("clock broke at 2"), "{msg}");
    assert!(msg.contains("at Clock (Clock.jsx:7)"), "{msg}");
    // the recording goes on: the next good frame renders again
    assert_eq!(e.consecutive_failures(), 1);
}

#[test]
fn importing_a_forbidden_module_names_it() {
    let c = comp(&[(
        "index.jsx",
        "import fs from 'fs';\nexport default function C() { return null; }\n",
    )]);
    let msg = Engine::new(c, common::opts(1280, 720, 30))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("cannot import \"fs\" from index.jsx"), "{msg}");
}

#[test]
fn missing_default_export_is_explained() {
    let c = comp(&[("index.jsx", "export const x = 1;\n")]);
    let msg = Engine::new(c, common::opts(1280, 720, 30))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("default component"), "{msg}");
}

#[test]
fn a_nan_frame_is_rejected_naming_the_component_and_op() {
    let c = comp(&[(
        "index.jsx",
        "import * as React from 'react';\nimport { Box } from '#vcs-react/components';\nexport default function C() {\n  return <Box><Box id=\"broken\" layout={[() => ({ x: 0, y: 0, w: NaN, h: 10 })]} style={{ fillColor: 'red' }} /></Box>;\n}\n",
    )]);
    let mut e = Engine::new(c, common::opts(1280, 720, 30)).unwrap();
    let err = e.render(0.0).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::InvalidScene { .. }), "{msg}");
    assert!(
        msg.contains("<Box id=\"broken\">")
            && msg.contains("fillRect")
            && msg.contains("not a finite number"),
        "{msg}"
    );
}

/// A colour that is not one never fails a frame (daily-compat.md §4): Daily's encoder paints
/// it white, as Daily draws it.
#[test]
fn a_bad_colour_does_not_fail_the_frame() {
    let c = comp(&[(
        "index.jsx",
        "import * as React from 'react';\nimport { Box } from '#vcs-react/components';\nexport default function C() {\n  return <Box id=\"bg\" style={{ fillColor: 'not-a-colour' }} />;\n}\n",
    )]);
    let mut e = Engine::new(c, common::opts(1280, 720, 30)).unwrap();
    let f = e.render(0.0).unwrap();
    let ops = serde_json::to_value(&f.scene.background.commands).unwrap();
    assert!(
        ops.to_string()
            .contains(r#"["fillStyle","rgba(255, 255, 255, 1)"]"#),
        "{ops}"
    );
}
