//! JSX/TSX → plain ES modules with oxc (classic runtime: `React.createElement`, types stripped).
//!
//! Generated code does not keep the source's line numbers, so each module keeps a line map
//! (from oxc's source map) that turns a boa stack frame back into the composition's `file:line`.

use std::path::Path;

use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_diagnostics::{OxcDiagnostic, Severity};
use oxc_parser::Parser;
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use oxc_transformer::{JsxOptions, JsxRuntime, TransformOptions, Transformer};

use super::EngineError;

/// A transpiled module with a map from generated lines back to source lines.
#[derive(Debug, Clone)]
pub struct Transpiled {
    pub code: String,
    /// `line_map[generated_line - 1]` = source line (1-based), 0 when unknown.
    pub line_map: Vec<u32>,
}

impl Transpiled {
    /// The source line (1-based) for a generated line (1-based); the nearest known line above
    /// when the generated line has no mapping of its own.
    pub fn source_line(&self, generated: u32) -> Option<u32> {
        let idx = (generated as usize).checked_sub(1)?;
        self.line_map
            .get(..=idx.min(self.line_map.len().saturating_sub(1)))?
            .iter()
            .rev()
            .find(|&&l| l > 0)
            .copied()
    }
}

/// Transpiles one file. `file` is the composition-relative path used in error messages and
/// decides the dialect by extension (`.ts`/`.tsx` are TypeScript; `.js` may hold JSX).
pub fn transpile(file: &str, source: &str) -> Result<Transpiled, EngineError> {
    let allocator = Allocator::default();
    let path = Path::new(file);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("js");
    let source_type = match ext {
        "ts" => SourceType::ts(),
        "tsx" => SourceType::tsx(),
        "mjs" => SourceType::mjs().with_jsx(true),
        _ => SourceType::jsx().with_module(true),
    };
    let parsed = Parser::new(&allocator, source, source_type).parse();
    if let Some(e) = first_error(&parsed.diagnostics) {
        return Err(syntax_error(
            file,
            source,
            &e.message,
            e.labels.first().map_or(0, |l| l.offset() as usize),
        ));
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new().build(&program);
    if let Some(e) = first_error(&semantic.diagnostics) {
        return Err(syntax_error(
            file,
            source,
            &e.message,
            e.labels.first().map_or(0, |l| l.offset() as usize),
        ));
    }
    let scoping = semantic.semantic.into_scoping();
    let options = TransformOptions {
        jsx: JsxOptions {
            runtime: JsxRuntime::Classic,
            pragma: Some("React.createElement".into()),
            pragma_frag: Some("React.Fragment".into()),
            ..JsxOptions::default()
        },
        ..TransformOptions::default()
    };
    let ret =
        Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
    if let Some(e) = first_error(&ret.diagnostics) {
        return Err(syntax_error(
            file,
            source,
            &e.message,
            e.labels.first().map_or(0, |l| l.offset() as usize),
        ));
    }
    let out = Codegen::new()
        .with_options(CodegenOptions {
            source_map_path: Some(path.to_path_buf()),
            ..CodegenOptions::default()
        })
        .build(&program);
    let lines = out.code.lines().count().max(1);
    let mut line_map = vec![0u32; lines];
    if let Some(map) = &out.map {
        for t in map.get_tokens() {
            let slot = &mut line_map[(t.get_dst_line() as usize).min(lines - 1)];
            if *slot == 0 {
                *slot = t.get_src_line() + 1;
            }
        }
    }
    Ok(Transpiled {
        code: instrument(&out.code),
        line_map,
    })
}

/// The guard call inserted into every function body and loop body of composition code, so a
/// frame's wall-clock budget and memory cap are checked even inside code that never returns
/// (boa has no interrupt; see `mod.rs`, Sandbox).
pub const GUARD: &str = "__vcs_tick()";

/// Inserts [`GUARD`] at the start of every function body (expression-bodied arrows become
/// `(GUARD, expr)`) and every loop body. Only characters are inserted, never newlines, so the
/// line map stays valid. Code that does not parse is returned unchanged (boa reports it).
fn instrument(code: &str) -> String {
    use oxc_ast::ast::{ArrowFunctionBody, ArrowFunctionExpression, FunctionBody, Statement};
    use oxc_ast_visit::{Visit, walk};
    use oxc_span::GetSpan;

    struct Collect {
        /// (offset, closing-before-opening order, text)
        edits: Vec<(u32, u8, String)>,
    }
    impl Collect {
        fn body(&mut self, stmt: &Statement<'_>) {
            let span = stmt.span();
            if matches!(stmt, Statement::BlockStatement(_)) {
                self.edits.push((span.start + 1, 1, format!("{GUARD};")));
            } else {
                self.edits.push((span.start, 1, format!("{{{GUARD};")));
                self.edits.push((span.end, 0, "}".into()));
            }
        }
    }
    impl<'a> Visit<'a> for Collect {
        fn visit_function_body(&mut self, it: &FunctionBody<'a>) {
            self.edits.push((it.span.start + 1, 1, format!("{GUARD};")));
            walk::walk_function_body(self, it);
        }
        fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
            if let ArrowFunctionBody::FunctionBody(_) = &it.body {
            } else {
                let span = it.body.span();
                self.edits.push((span.start, 1, format!("({GUARD}, ")));
                self.edits.push((span.end, 0, ")".into()));
            }
            walk::walk_arrow_function_expression(self, it);
        }
        fn visit_for_statement(&mut self, it: &oxc_ast::ast::ForStatement<'a>) {
            self.body(&it.body);
            walk::walk_for_statement(self, it);
        }
        fn visit_for_in_statement(&mut self, it: &oxc_ast::ast::ForInStatement<'a>) {
            self.body(&it.body);
            walk::walk_for_in_statement(self, it);
        }
        fn visit_for_of_statement(&mut self, it: &oxc_ast::ast::ForOfStatement<'a>) {
            self.body(&it.body);
            walk::walk_for_of_statement(self, it);
        }
        fn visit_while_statement(&mut self, it: &oxc_ast::ast::WhileStatement<'a>) {
            self.body(&it.body);
            walk::walk_while_statement(self, it);
        }
        fn visit_do_while_statement(&mut self, it: &oxc_ast::ast::DoWhileStatement<'a>) {
            self.body(&it.body);
            walk::walk_do_while_statement(self, it);
        }
    }

    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, SourceType::mjs()).parse();
    if first_error(&parsed.diagnostics).is_some() {
        return code.to_string();
    }
    let mut c = Collect { edits: Vec::new() };
    c.visit_program(&parsed.program);
    c.edits.sort_by_key(|(o, k, _)| (*o, *k));
    let mut out = String::with_capacity(code.len() + c.edits.len() * 16);
    let mut at = 0usize;
    for (offset, _, text) in &c.edits {
        let o = *offset as usize;
        out.push_str(&code[at..o]);
        out.push_str(text);
        at = o;
    }
    out.push_str(&code[at..]);
    out
}

fn first_error(diagnostics: &[OxcDiagnostic]) -> Option<&OxcDiagnostic> {
    diagnostics.iter().find(|d| d.severity == Severity::Error)
}

fn syntax_error(file: &str, source: &str, message: &str, offset: usize) -> EngineError {
    let (line, col) = line_col(source, offset);
    EngineError::Syntax {
        file: file.to_string(),
        line,
        col,
        message: message.to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsx_becomes_create_element_and_types_are_stripped() {
        let t = transpile(
            "index.tsx",
            "import * as React from 'react';\ntype P = {a: number};\nexport default function C(p: P) {\n  return <Box id=\"x\">{p.a}</Box>;\n}\n",
        )
        .unwrap();
        assert!(t.code.contains("React.createElement(Box"), "{}", t.code);
        assert!(!t.code.contains("type P"), "{}", t.code);
        let gen_line = t
            .code
            .lines()
            .position(|l| l.contains("createElement"))
            .unwrap() as u32
            + 1;
        assert_eq!(t.source_line(gen_line), Some(4));
    }

    #[test]
    fn loops_and_functions_get_the_guard_without_moving_lines() {
        let src = "export function f(n) {\n  for (let i = 0; i < n; i++) g(i);\n  while (n--) { g(n); }\n  return [1].map((x) => x * 2);\n}\n";
        let t = transpile("a.js", src).unwrap();
        assert_eq!(t.code.matches(GUARD).count(), 4, "{}", t.code);
        assert!(t.code.contains("{__vcs_tick();g(i);}"), "{}", t.code);
        assert!(t.code.contains("(__vcs_tick(), x * 2)"), "{}", t.code);
        assert_eq!(t.code.lines().count(), t.line_map.len());
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let e = transpile("components/Bad.jsx", "const a = 1;\nconst b = <Box>;\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("components/Bad.jsx:2:"), "{msg}");
    }
}
