//! Folder compositions and session-asset overrides.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::path::{Path, PathBuf};

use vcs_engine::{Composition, Engine};
use vcs_scene::Op;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vcs-engine-assets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn texts(c: Composition) -> Vec<String> {
    let mut e = Engine::new(c, common::opts(640, 360, 30)).unwrap();
    let f = e.render(0.0).unwrap();
    f.scene
        .background
        .commands
        .iter()
        .filter_map(|c| match c {
            Op::FillText(t, ..) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

const INDEX: &str = "import * as React from 'react';\nimport { Box } from '#vcs-react/components';\nimport Title from './components/Title';\nimport { label } from './lib/util.ts';\nexport default function C() { return <Box><Title text={label('x')} /></Box>; }\n";
const TITLE: &str = "import * as React from 'react';\nimport { Text } from '#vcs-react/components';\nexport default function Title({ text }) { return <Text>{'original ' + text}</Text>; }\n";
const UTIL: &str = "export function label(s: string): string { return '<' + s + '>'; }\n";

#[test]
fn folder_composition_with_relative_and_typescript_imports() {
    let dir = scratch("folder");
    write(&dir, "index.jsx", INDEX);
    write(&dir, "components/Title.jsx", TITLE);
    write(&dir, "lib/util.ts", UTIL);
    assert_eq!(
        texts(Composition::resolve(dir.to_str().unwrap()).unwrap()),
        ["original <x>"]
    );
}

#[test]
fn session_assets_override_components_and_add_images() {
    let dir = scratch("comp");
    write(&dir, "index.jsx", INDEX);
    write(&dir, "components/Title.jsx", TITLE);
    write(&dir, "lib/util.ts", UTIL);
    let session = scratch("session");
    write(
        &session,
        "components/overrides/Title.js",
        "import * as React from 'react';\nimport { Text } from '#vcs-react/components';\nexport default function Title({ text }) { return <Text>{'override ' + text}</Text>; }\n",
    );
    write(
        &session,
        "images/banner.png.json",
        "{\"width\": 10, \"height\": 5}",
    );
    write(&session, "images/banner.png", "not really a png");
    let c = Composition::resolve(dir.to_str().unwrap())
        .unwrap()
        .with_session_assets(&session)
        .unwrap();
    assert_eq!(c.images.get("banner.png"), Some(&Some((10, 5))));
    assert!(
        c.sources.contains_key("components/Title.js")
            && !c.sources.contains_key("components/Title.jsx")
    );
    assert_eq!(texts(c), ["override <x>"]);
}

#[test]
fn single_file_composition() {
    let dir = scratch("single");
    write(
        &dir,
        "hello.tsx",
        "import * as React from 'react';\nimport { Text } from '#vcs-react/components';\nconst n: number = 2;\nexport default function C() { return <Text>{'hello ' + n}</Text>; }\n",
    );
    assert_eq!(
        texts(Composition::resolve(dir.join("hello.tsx").to_str().unwrap()).unwrap()),
        ["hello 2"]
    );
}

#[test]
fn missing_relative_import_is_explained() {
    let dir = scratch("missing");
    write(
        &dir,
        "index.jsx",
        "import X from './components/Nope';\nexport default function C() { return null; }\n",
    );
    let e = Engine::new(
        Composition::resolve(dir.to_str().unwrap()).unwrap(),
        common::opts(64, 64, 30),
    );
    let msg = e.err().unwrap().to_string();
    assert!(
        msg.contains("cannot import \"./components/Nope\" from index.jsx"),
        "{msg}"
    );
}
