//! What a loaded `model.json` must hold before its regressors are built from it: smartcore
//! trusts its own trees (an index out of range panics, a child that points back loops
//! forever), so a damaged or tampered file is checked here, as JSON, and refused with what
//! is wrong. Trees are stored parent first, so every child's index is above its parent's:
//! that one rule rules out cycles.

use serde_json::Value;

/// Checks every tree and GP in a model's JSON against the model's `features` inputs.
pub fn structure(v: &Value, features: usize) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            if let Some(nodes) = map.get("nodes") {
                tree(nodes, features)?;
            }
            if let Some(i) = map.get("split_feature_idx") {
                boosted_node(map, i, features)?;
            }
            if let (Some(x), Some(y), Some(h)) = (map.get("x"), map.get("y"), map.get("hyper")) {
                gp(x, y, h, features)?;
            }
            map.values().try_for_each(|c| structure(c, features))
        }
        Value::Array(items) => items.iter().try_for_each(|c| structure(c, features)),
        _ => Ok(()),
    }
}

/// A value that must be a whole number below `len`.
fn index(v: &Value, len: usize, what: &str) -> Result<usize, String> {
    v.as_u64()
        .map(|i| i as usize)
        .filter(|&i| i < len)
        .ok_or_else(|| format!("{what} {v} is not an index below {len}"))
}

/// A decision tree's nodes: each inner node splits on an existing feature and has two
/// children stored after it.
fn tree(nodes: &Value, features: usize) -> Result<(), String> {
    let nodes = nodes.as_array().ok_or("a tree's nodes are not a list")?;
    if nodes.is_empty() {
        return Err("a tree has no nodes".into());
    }
    for (i, node) in nodes.iter().enumerate() {
        let child = |key: &str| match node.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(c) => index(c, nodes.len(), key).and_then(|c| {
                if c > i {
                    Ok(Some(c))
                } else {
                    Err(format!("node {i}'s {key} {c} is not after it"))
                }
            }),
        };
        match (child("true_child")?, child("false_child")?) {
            (None, None) => {}
            (Some(_), Some(_)) => {
                index(
                    node.get("split_feature").unwrap_or(&Value::Null),
                    features,
                    "split_feature",
                )?;
            }
            _ => return Err(format!("node {i} has one child")),
        }
    }
    Ok(())
}

/// A node of smartcore's boosted trees (nested, so no cycle is possible): a node with a left
/// child is a split, which reads its feature and then takes the left or the right child
/// unchecked; a node without one is a leaf, whose feature (usize::MAX) is never read.
fn boosted_node(
    map: &serde_json::Map<String, Value>,
    feature: &Value,
    features: usize,
) -> Result<(), String> {
    let present = |key: &str| map.get(key).is_some_and(|c| !c.is_null());
    if !present("left") {
        return Ok(());
    }
    if !present("right") {
        return Err("a boosted tree's split has no right child".into());
    }
    index(feature, features, "split_feature_idx").map(|_| ())
}

/// A saved GP: rows of `features` inputs, one target per row, one lengthscale per input.
fn gp(x: &Value, y: &Value, hyper: &Value, features: usize) -> Result<(), String> {
    let rows = x.as_array().ok_or("the GP's rows are not a list")?;
    let wide = |v: &Value| v.as_array().is_some_and(|r| r.len() == features);
    if rows.is_empty() || !rows.iter().all(wide) {
        return Err(format!("the GP's rows are not {features} numbers each"));
    }
    if y.as_array().is_none_or(|y| y.len() != rows.len()) {
        return Err("the GP has not one target per row".into());
    }
    if !hyper.get("log_lengthscales").is_some_and(wide) {
        return Err(format!("the GP has not {features} lengthscales"));
    }
    // Logarithms beyond ±50 overflow or vanish once exponentiated.
    let logs = hyper
        .as_object()
        .into_iter()
        .flat_map(|h| h.values())
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect::<Vec<_>>(),
            v => vec![v],
        });
    for v in logs {
        if v.as_f64().is_none_or(|l| l.abs() > 50.0) {
            return Err(format!(
                "the GP's hyperparameter {v} is not a number within ±50"
            ));
        }
    }
    Ok(())
}
