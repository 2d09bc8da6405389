//! Sandbox abuse: each case ends in a clear error, the engine keeps going, the process stays
//! healthy. Tests run one at a time (memory is measured per process).
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use vcs_engine::{Composition, Engine, EngineError};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A composition whose component runs `body` when time passes 1 s.
fn abusive(body: &str) -> Composition {
    let src = format!(
        "import * as React from 'react';\nimport {{ Box }} from '#vcs-react/components';\nimport {{ useVideoTime }} from '#vcs-react/hooks';\nexport default function C() {{\n  const t = useVideoTime();\n  if (t > 1) {{\n{body}\n  }}\n  return <Box style={{{{ fillColor: 'red' }}}} />;\n}}\n"
    );
    Composition::from_sources("abuse", "index.jsx", [("index.jsx".to_string(), src)])
}

/// Renders a good frame, then the abusive one; returns its error and checks the engine and
/// the process are still fine afterwards.
fn abuse(body: &str, budget: Duration) -> (EngineError, Duration) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut e = Engine::new(abusive(body), common::opts(640, 360, 30)).expect("loads");
    e.set_frame_budget(budget);
    e.set_memory_cap(256 << 20);
    e.render(0.0).expect("first frame is fine");
    e.render(0.5).expect("good frame");
    let started = Instant::now();
    let err = e.render(2.0).expect_err("abusive frame fails");
    let took = started.elapsed();
    assert_eq!(e.consecutive_failures(), 1);
    // the process is healthy: a new engine renders normally
    let mut fresh = Engine::new(
        Composition::resolve("demo").unwrap(),
        common::opts(640, 360, 30),
    )
    .unwrap();
    fresh.render(0.0).unwrap();
    (err, took)
}

#[test]
fn infinite_loop_is_stopped_by_the_frame_budget() {
    let (err, took) = abuse("while (true) {}", Duration::from_millis(100));
    assert!(
        matches!(err, EngineError::Budget { budget_ms: 100, .. }),
        "{err}"
    );
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    assert!(
        err.to_string().contains("wall-clock budget of 100 ms"),
        "{err}"
    );
}

#[test]
fn nested_loops_across_calls_and_swallowed_errors_are_still_stopped() {
    let body = "function spin() { let x = 0; for (let i = 0; i < 1000000; i++) x += i; return x; }\n    for (;;) { try { spin(); } catch (e) {} }";
    let (err, took) = abuse(body, Duration::from_millis(100));
    assert!(matches!(err, EngineError::Budget { .. }), "{err}");
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
}

#[test]
fn deep_recursion_hits_the_recursion_limit() {
    let (err, _) = abuse(
        "function f(n) { return f(n + 1) + 1; }\n    f(0);",
        Duration::from_secs(5),
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nested deeper than") || msg.contains("value stack"),
        "{msg}"
    );
}

/// A wall-clock budget no loaded machine reaches before the cap under test does (load averages
/// of 10+ on 2 cores are common here): the test is about which limit stops the frame.
const GENEROUS: Duration = Duration::from_secs(300);

#[test]
fn allocation_bomb_is_stopped_by_the_memory_cap() {
    let body = "const keep = [];\n    for (;;) { keep.push(new Array(1000).fill(1.5)); }";
    let (err, _) = abuse(body, GENEROUS);
    assert!(
        matches!(err, EngineError::MemoryCap { cap_mb: 256, .. }),
        "{err}"
    );
}

#[test]
fn a_million_node_tree_hits_the_node_cap() {
    let body = "return <Box>{Array.from({ length: 1000000 }, (_, i) => <Box key={i} />)}</Box>;";
    let (err, _) = abuse(body, GENEROUS);
    let msg = err.to_string();
    // whichever cap comes first on this machine
    assert!(
        msg.contains("more than 200000 components") || matches!(err, EngineError::MemoryCap { .. }),
        "{msg}"
    );
}

#[test]
fn code_from_strings_is_refused() {
    let (err, _) = abuse("new Function('while(true){}')();", Duration::from_secs(5));
    assert!(
        err.to_string().contains("not allowed in compositions"),
        "{err}"
    );
    let (err, _) = abuse("eval('1+1');", Duration::from_secs(5));
    assert!(
        err.to_string().contains("not allowed in compositions"),
        "{err}"
    );
}

#[test]
fn every_constructor_that_compiles_strings_is_refused() {
    for path in [
        "(function () {}).constructor('return 1')",
        "Object.getPrototypeOf(function* () {}).constructor('yield 1')",
        "Object.getPrototypeOf(async function () {}).constructor('return 1')",
        "Object.getPrototypeOf(async function* () {}).constructor('yield 1')",
        "Reflect.construct(Object.getPrototypeOf(function* () {}).constructor, ['yield 1'])",
        "new (Object.getPrototypeOf(Object.getPrototypeOf(async function () {})).constructor)('1')",
    ] {
        let (err, _) = abuse(&format!("{path};"), Duration::from_secs(5));
        assert!(
            err.to_string().contains("not allowed in compositions"),
            "{path}: {err}"
        );
    }
}

#[test]
fn top_level_infinite_loop_fails_loading() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let c = Composition::from_sources(
        "spin",
        "index.jsx",
        [("index.jsx".to_string(), "let n = 0;\nfunction go() { for (;;) { n++; } }\ngo();\nexport default function C() { return null; }\n".to_string())],
    );
    let started = Instant::now();
    let err = Engine::new(c, common::opts(640, 360, 30))
        .err()
        .expect("fails");
    let msg = err.to_string();
    // the loop limit or the startup budget, whichever comes first on this machine
    assert!(
        msg.contains("runtime limit") || matches!(err, EngineError::Budget { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("index.jsx:2") || matches!(err, EngineError::Budget { .. }),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_composition_cannot_reach_the_host_or_the_clock() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let src = "import * as React from 'react';\nimport { Text } from '#vcs-react/components';\nexport default function C() {\n  const clocks = [Date.now(), new Date().getTime(), new Date().constructor.now(), Object.getPrototypeOf(new Date()).constructor.now(), new (new Date().constructor)().getTime()];
  const seen = [typeof __vcs_host, typeof process, typeof require, typeof fetch, typeof Temporal, typeof Intl, clocks.join('/')].join(',');\n  return <Text>{seen}</Text>;\n}\n";
    let c = Composition::from_sources(
        "probe",
        "index.jsx",
        [("index.jsx".to_string(), src.to_string())],
    );
    let mut e = Engine::new(c, common::opts(640, 360, 30)).unwrap();
    let f = e.render(3.25).unwrap();
    let text = serde_json::to_string(&f.scene.background).unwrap();
    assert!(
        text.contains(
            "undefined,undefined,undefined,undefined,undefined,undefined,3250/3250/3250/3250/3250"
        ),
        "{text}"
    );
}
