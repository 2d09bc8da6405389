//! Param values checked against what the composition declares (`compositionInterface.params`,
//! vcs-api.md §2): a live change or a job's params that the composition cannot use is refused
//! with the param's id, before it reaches the composition.
//!
//! The rules, per declared `type`: `boolean` takes `true`/`false`; `number` a finite number (or
//! a string that is one: Daily's runners pass text fields through and compositions
//! `parseFloat` them), within `min`/`max` when declared; `text` a string (or a number or
//! boolean, shown as text) of at most [`MAX_TEXT_PARAM_BYTES`]; `enum` one of its `values`.
//! `null` means "back to the default" and is always accepted. An id the composition does not
//! declare is refused too: Daily's compositions read only declared params, so an unknown id is
//! almost always a typo that would otherwise change nothing, silently.

use std::collections::BTreeMap;

use serde_json::Value;

/// Largest text param value, in bytes: a title or a list of lines, not a document (a 900 KB
/// title took the graphics 9 s a frame to lay out).
pub const MAX_TEXT_PARAM_BYTES: usize = 16 * 1024;

/// A param value the composition cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The param's id.
    pub id: String,
    pub message: String,
}

/// Checks `params` against the `interface` a composition declares (as
/// [`Engine::interface`](crate::Engine::interface) returns it). The first bad param is the error.
pub fn check_params(interface: &Value, params: &BTreeMap<String, Value>) -> Result<(), ParamError> {
    let declared = interface["params"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (id, value) in params {
        let err = |message: String| ParamError {
            id: id.clone(),
            message,
        };
        let Some(decl) = declared.iter().find(|d| d["id"] == *id) else {
            return Err(err(format!(
                "the composition declares no param \"{id}\" (it declares {})",
                declared_ids(declared)
            )));
        };
        if value.is_null() {
            continue;
        }
        check_value(decl, value).map_err(err)?;
    }
    Ok(())
}

fn check_value(decl: &Value, value: &Value) -> Result<(), String> {
    match decl["type"].as_str().unwrap_or_default() {
        "boolean" if !value.is_boolean() => Err(format!("{value} is not true or false")),
        "number" => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("{} is not a number", short(value)))?;
            if let Some(min) = decl["min"].as_f64()
                && n < min
            {
                return Err(format!("{n} is below its minimum {min}"));
            }
            if let Some(max) = decl["max"].as_f64()
                && n > max
            {
                return Err(format!("{n} is above its maximum {max}"));
            }
            Ok(())
        }
        "text" => match value {
            Value::String(s) if s.len() > MAX_TEXT_PARAM_BYTES => Err(format!(
                "is {} bytes of text; text params take at most {MAX_TEXT_PARAM_BYTES}",
                s.len()
            )),
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
            other => Err(format!("{} is not text", short(other))),
        },
        "enum" => {
            let values = decl["values"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            if values.contains(value) {
                Ok(())
            } else {
                Err(format!(
                    "{} is not one of {}",
                    short(value),
                    Value::Array(values.to_vec())
                ))
            }
        }
        _ => Ok(()),
    }
}

/// A value as it appears in a message: long ones cut.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn declared_ids(declared: &[Value]) -> String {
    let ids: Vec<&str> = declared.iter().filter_map(|d| d["id"].as_str()).collect();
    match ids.len() {
        0 => "no params".into(),
        n if n > 12 => format!("{} params, such as {}", n, ids[..12].join(", ")),
        _ => ids.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interface() -> Value {
        json!({"params": [
            {"id": "title", "type": "text", "defaultValue": "x"},
            {"id": "secs", "type": "number", "defaultValue": 10, "min": 0, "max": 60},
            {"id": "on", "type": "boolean", "defaultValue": false},
            {"id": "mode", "type": "enum", "defaultValue": "grid", "values": ["grid", "pip"]},
        ]})
    }

    fn check(id: &str, value: Value) -> Result<(), ParamError> {
        check_params(&interface(), &BTreeMap::from([(id.to_string(), value)]))
    }

    #[test]
    fn values_of_the_declared_type_pass() {
        for (id, v) in [
            ("title", json!("Hello")),
            ("title", json!(5)),
            ("secs", json!(5)),
            ("secs", json!("7.5")),
            ("on", json!(true)),
            ("mode", json!("pip")),
            ("mode", Value::Null),
        ] {
            assert_eq!(check(id, v.clone()), Ok(()), "{id} = {v}");
        }
    }

    #[test]
    fn bad_values_are_refused_naming_why() {
        for (id, v, want) in [
            ("secs", json!("abc"), "\"abc\" is not a number"),
            ("secs", json!(61), "above its maximum 60"),
            ("secs", json!(-1), "below its minimum 0"),
            ("on", json!("yes"), "is not true or false"),
            ("mode", json!("tiles"), "is not one of [\"grid\",\"pip\"]"),
            ("title", json!({"a": 1}), "is not text"),
            (
                "nope",
                json!(1),
                "declares no param \"nope\" (it declares title, secs, on, mode)",
            ),
        ] {
            let e = check(id, v).unwrap_err();
            assert_eq!(e.id, id);
            assert!(e.message.contains(want), "{id}: {}", e.message);
        }
        let e = check("title", json!("x".repeat(MAX_TEXT_PARAM_BYTES + 1))).unwrap_err();
        assert!(
            e.message.contains("text params take at most 16384"),
            "{}",
            e.message
        );
    }
}
