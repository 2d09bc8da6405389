//! React semantics compositions rely on: state across frames, effects and cleanup, context,
//! memo, keys, class components, error boundaries.
#![expect(
    clippy::unwrap_used,
    reason = "test code: an unwrap that fails is a failed test at that line"
)]

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vcs_engine::{Composition, Engine};
use vcs_scene::Op;

fn engine(body: &str) -> Engine {
    let src = format!(
        "import * as React from 'react';\nimport {{ useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback, useReducer, useContext, createContext, memo, Component, Fragment }} from 'react';\nimport {{ Box, Text }} from '#vcs-react/components';\nimport {{ useParams, useVideoTime }} from '#vcs-react/hooks';\nexport const compositionInterface = {{ params: [{{ id: 'p', type: 'number', defaultValue: 0 }}] }};\n{body}\n"
    );
    let c = Composition::from_sources("hooks", "index.jsx", [("index.jsx".to_string(), src)]);
    Engine::new(c, common::opts(640, 360, 30)).unwrap()
}

/// Every text drawn, in order, joined with `|`.
fn texts(e: &mut Engine, t: f64) -> String {
    let f = e.render(t).unwrap();
    let mut out = Vec::new();
    for c in f
        .scene
        .background
        .commands
        .iter()
        .chain(&f.scene.foreground.commands)
    {
        if let Op::FillText(s, ..) = c {
            out.push(s.clone());
        }
    }
    out.join("|")
}

fn set(e: &mut Engine, id: &str, v: Value) {
    e.set_params(&BTreeMap::from([(id.to_string(), v)]));
}

#[test]
fn state_persists_across_frames_and_effect_updates_apply_in_the_same_frame() {
    let mut e = engine(
        "export default function C() {
           const t = useVideoTime();
           const [n, setN] = useState(0);
           useEffect(() => { setN((x) => x + 1); }, [Math.floor(t)]);
           return <Text>{'n=' + n}</Text>;
         }",
    );
    assert_eq!(texts(&mut e, 0.0), "n=1");
    assert_eq!(texts(&mut e, 0.5), "n=1");
    assert_eq!(texts(&mut e, 1.0), "n=2");
    assert_eq!(texts(&mut e, 3.0), "n=3");
}

#[test]
fn effects_run_after_layout_effects_children_first_and_clean_up_before_rerun_and_on_unmount() {
    let mut e = engine(
        "const log = [];
         function Child({ v }) {
           useEffect(() => { log.push('child+' + v); return () => log.push('child-' + v); }, [v]);
           useLayoutEffect(() => { log.push('childL' + v); }, [v]);
           return null;
         }
         function Log() { const t = useVideoTime(); return <Text>{log.join(',')}</Text>; }
         export default function C() {
           const { p } = useParams();
           useEffect(() => { log.push('parent'); }, []);
           return <Box>{p < 2 ? <Child v={p} /> : null}<Log /></Box>;
         }",
    );
    texts(&mut e, 0.0);
    assert_eq!(texts(&mut e, 0.1), "childL0,child+0,parent");
    set(&mut e, "p", json!(1));
    texts(&mut e, 0.2);
    // as React: layout effects in the commit, then passive cleanups, then passive effects
    assert_eq!(
        texts(&mut e, 0.3),
        "childL0,child+0,parent,childL1,child-0,child+1"
    );
    set(&mut e, "p", json!(2));
    texts(&mut e, 0.4);
    assert_eq!(
        texts(&mut e, 0.5),
        "childL0,child+0,parent,childL1,child-0,child+1,child-1"
    );
}

#[test]
fn context_reaches_through_memo_and_updates_consumers() {
    let mut e = engine(
        "const Ctx = createContext('default');
         let renders = 0;
         function Leaf() { const v = useContext(Ctx); return <Text>{v}</Text>; }
         const Middle = memo(function Middle() { renders++; return <Leaf />; });
         function Count() { useVideoTime(); return <Text>{'middle renders ' + renders}</Text>; }
         export default function C() {
           const { p } = useParams();
           return <Box><Ctx.Provider value={'v' + p}><Middle /></Ctx.Provider><Leaf /><Ctx.Consumer>{(v) => <Text>{'consumer ' + v}</Text>}</Ctx.Consumer><Count /></Box>;
         }",
    );
    assert_eq!(
        texts(&mut e, 0.0),
        "v0|default|consumer default|middle renders 1"
    );
    set(&mut e, "p", json!(7));
    assert_eq!(
        texts(&mut e, 0.1),
        "v7|default|consumer default|middle renders 1"
    );
}

#[test]
fn keyed_children_keep_their_state_when_reordered() {
    let mut e = engine(
        "let mounts = 0;
         function Item({ name }) { const first = useRef(++mounts); return <Text>{name + '#' + first.current}</Text>; }
         export default function C() {
           const { p } = useParams();
           const names = p ? ['c', 'b', 'a'] : ['a', 'b', 'c'];
           return <Box>{names.map((n) => <Item key={n} name={n} />)}</Box>;
         }",
    );
    assert_eq!(texts(&mut e, 0.0), "a#1|b#2|c#3");
    set(&mut e, "p", json!(1));
    assert_eq!(texts(&mut e, 0.1), "c#3|b#2|a#1");
}

#[test]
fn kids_that_go_change_type_or_come_first_are_unmounted_and_mounted() {
    // Kids in place are matched where they stand, the rest by key: every way out of that path.
    let mut e = engine(
        "let mounts = 0;
         const gone = [];
         function Item({ name }) {
           const [first] = useState(() => ++mounts);
           useEffect(() => () => { gone.push(name); }, []);
           return <Text>{name + '#' + first}</Text>;
         }
         function Other({ name }) { return <Text>{'other ' + name}</Text>; }
         const steps = [
           ['a', 'b', 'c'],
           ['a', 'b'],
           ['a', 'B'],
           ['z', 'a', 'B'],
           ['a'],
         ];
         export default function C() {
           useVideoTime();
           const { p } = useParams();
           const kids = steps[p].map((n) => n === 'B'
             ? <Other key=\"b\" name=\"b\" />
             : <Item key={n} name={n} />);
           return <Box><Box>{kids}</Box><Text>{'gone: ' + gone.join(',')}</Text></Box>;
         }",
    );
    assert_eq!(texts(&mut e, 0.0), "a#1|b#2|c#3|gone:");
    set(&mut e, "p", json!(1));
    assert_eq!(texts(&mut e, 0.1), "a#1|b#2|gone:");
    set(&mut e, "p", json!(2));
    assert_eq!(
        texts(&mut e, 0.2),
        "a#1|other b|gone: c",
        "the last kid went"
    );
    set(&mut e, "p", json!(3));
    assert_eq!(
        texts(&mut e, 0.3),
        "z#4|a#1|other b|gone: c,b",
        "same key, other type"
    );
    set(&mut e, "p", json!(4));
    assert_eq!(
        texts(&mut e, 0.4),
        "a#1|gone: c,b",
        "a new first kid, the rest kept"
    );
    assert_eq!(texts(&mut e, 0.5), "a#1|gone: c,b,z", "the others went");
}

#[test]
fn reducer_memo_and_callback_follow_their_deps() {
    let mut e = engine(
        "let computed = 0;
         export default function C() {
           const t = useVideoTime();
           const { p } = useParams();
           const [s, dispatch] = useReducer((s, a) => s + a, 10);
           const doubled = useMemo(() => { computed++; return p * 2; }, [p]);
           const cb = useCallback(() => p, [p]);
           const first = useRef(cb);
           useEffect(() => { if (t >= 1) dispatch(5); }, [t >= 1]);
           return <Text>{[s, doubled, computed, first.current === cb].join(' ')}</Text>;
         }",
    );
    assert_eq!(texts(&mut e, 0.0), "10 0 1 true");
    assert_eq!(texts(&mut e, 1.0), "15 0 1 true");
    set(&mut e, "p", json!(4));
    assert_eq!(texts(&mut e, 1.1), "15 8 2 false");
}

#[test]
fn class_components_have_state_lifecycles_and_derived_state() {
    let mut e = engine(
        "class Counter extends Component {
           constructor(props) { super(props); this.state = { n: 0, seen: -1 }; }
           static getDerivedStateFromProps(props, state) { return { seen: props.p }; }
           componentDidMount() { this.setState({ n: 1 }); }
           componentDidUpdate(prev) { if (prev.p !== this.props.p) this.setState((s) => ({ n: s.n + 10 })); }
           render() { return <Text>{'n=' + this.state.n + ' seen=' + this.state.seen}</Text>; }
         }
         export default function C() { const { p } = useParams(); return <Counter p={p} />; }",
    );
    assert_eq!(texts(&mut e, 0.0), "n=1 seen=0");
    set(&mut e, "p", json!(3));
    assert_eq!(texts(&mut e, 0.1), "n=11 seen=3");
}

#[test]
fn error_boundary_shows_fallback_and_recovers_when_reset() {
    let mut e = engine(
        "let caught = '';
         class Boundary extends Component {
           constructor(p) { super(p); this.state = { failed: false }; }
           static getDerivedStateFromError(err) { return { failed: true }; }
           componentDidCatch(err) { caught = err.message; }
           render() { return this.state.failed ? <Text>{'fallback: ' + caught}</Text> : this.props.children; }
         }
         function Bomb({ p }) { if (p === 1) throw new Error('boom'); return <Text>{'ok ' + p}</Text>; }
         export default function C() {
           const { p } = useParams();
           useVideoTime();
           return <Box><Boundary><Bomb p={p} /></Boundary><Text>sibling</Text></Box>;
         }",
    );
    assert_eq!(texts(&mut e, 0.0), "ok 0|sibling");
    set(&mut e, "p", json!(1));
    let t = texts(&mut e, 0.1);
    // componentDidCatch runs after the commit that showed the fallback
    assert!(t.starts_with("fallback:") && t.ends_with("|sibling"), "{t}");
    assert_eq!(texts(&mut e, 0.2), "fallback: boom|sibling");
}

#[test]
fn an_uncaught_render_error_keeps_the_engine_usable() {
    let mut e = engine(
        "export default function C() { const { p } = useParams(); if (p === 1) throw new TypeError('bad p'); return <Text>{'p ' + p}</Text>; }",
    );
    assert_eq!(texts(&mut e, 0.0), "p 0");
    set(&mut e, "p", json!(1));
    let err = e.render(0.1).unwrap_err().to_string();
    assert!(
        err.contains("TypeError: bad p") && err.contains("index.jsx:"),
        "{err}"
    );
    set(&mut e, "p", json!(2));
    assert_eq!(texts(&mut e, 0.2), "p 2");
}

#[test]
fn dotted_params_are_mirrored_into_objects() {
    let mut e = engine(
        "export default function C() { const params = useParams(); return <Text>{String(params['toast.text']) + '/' + String(params.toast && params.toast.text)}</Text>; }",
    );
    set(&mut e, "toast.text", json!("hi"));
    assert_eq!(texts(&mut e, 0.0), "hi/hi");
}

/// Daily joins a Text's children with Array.join(' '): null leaves an empty slot.
#[test]
fn fragments_and_text_children_join_with_spaces() {
    let mut e = engine(
        "export default function C() { return <Fragment><Text>{'a'}{1}{null}{'b'}</Text><Text>{['x', ['y']]}</Text></Fragment>; }",
    );
    assert_eq!(texts(&mut e, 0.0), "a 1  b|x y");
}
