//! Parser for the plain-text fixtures in `tests/fixtures/` (made by `tests/fixtures/make_fixtures.py`).
//!
//! Format: `case <op> key=v1,v2 ...`, then lines `<name> <dims...> : <values...>`, then `end`;
//! lines starting with `#` are comments.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ndstyle::tensor::{Padding, Window};
use ndstyle::Tensor;

/// One array of a case: its dimensions and row-major values.
#[derive(Clone, Debug)]
pub struct Array {
    pub dims: Vec<usize>,
    pub values: Vec<f64>,
}

/// One fixture case: an op name, integer parameters and named arrays.
#[derive(Clone, Debug)]
pub struct Case {
    pub op: String,
    pub params: BTreeMap<String, Vec<usize>>,
    pub arrays: BTreeMap<String, Array>,
}

impl Case {
    /// Parameter `key` as a list of integers. **Panics** if absent.
    #[track_caller]
    pub fn param(&self, key: &str) -> &[usize] {
        self.params.get(key).unwrap_or_else(|| panic!("{}: no parameter {key}", self.op))
    }

    /// Parameter `key` as an `N`-array. **Panics** if absent or of another length.
    #[track_caller]
    pub fn param_n<const N: usize>(&self, key: &str) -> [usize; N] {
        self.param(key)
            .try_into()
            .unwrap_or_else(|_| panic!("{}: parameter {key} is not of length {N}", self.op))
    }

    /// Parameter `key` as a flag (`0` or `1`); `default` if absent.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.params.get(key).map_or(default, |v| v == &[1])
    }

    /// Array `name`, or `None`.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.arrays.get(name)
    }

    /// Array `name`. **Panics** if absent.
    #[track_caller]
    pub fn array(&self, name: &str) -> &Array {
        self.get(name).unwrap_or_else(|| panic!("{}: no array {name}", self.op))
    }

    /// Array `name` as a tensor `B × C × S_1 × … × S_N`. **Panics** if absent or of another rank.
    #[track_caller]
    pub fn tensor<const N: usize>(&self, name: &str) -> Tensor<N> {
        let a = self.array(name);
        assert_eq!(a.dims.len(), N + 2, "{}: array {name} has dims {:?}", self.op, a.dims);
        let spatial: [usize; N] = a.dims[2..].try_into().unwrap();
        Tensor::from_vec(a.dims[0], a.dims[1], spatial, a.values.iter().map(|&v| v as f32).collect()).unwrap()
    }

    /// The window of a case with `kernel`, `stride`, symmetric `padding` and (if present)
    /// `dilation` parameters; without `kernel`, the spatial dims of the weight array `w`.
    #[track_caller]
    pub fn window<const N: usize>(&self) -> Window<N> {
        let kernel = match self.params.get("kernel") {
            Some(_) => self.param_n("kernel"),
            None => self.array("w").dims[2..].try_into().expect("weight rank"),
        };
        let dilation = if self.params.contains_key("dilation") { self.param_n("dilation") } else { [1; N] };
        Window::new(kernel)
            .stride(self.param_n("stride"))
            .padding(Padding::symmetric(self.param_n("padding")))
            .dilation(dilation)
    }
}

/// Parse a fixture file's text. **Panics** with the line number on malformed input.
#[track_caller]
pub fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| -> ! { panic!("fixture line {}: {what}: {line:.80}", n + 1) };
        let mut words = line.split_whitespace();
        match words.next() {
            Some("case") => {
                if current.is_some() {
                    bad("case inside a case");
                }
                let op = words.next().unwrap_or_else(|| bad("case without an op")).to_string();
                let mut params = BTreeMap::new();
                for kv in words {
                    let (k, v) = kv.split_once('=').unwrap_or_else(|| bad("parameter without ="));
                    let v = v.split(',').map(|x| x.parse().unwrap_or_else(|_| bad("bad integer"))).collect();
                    params.insert(k.to_string(), v);
                }
                current = Some(Case { op, params, arrays: BTreeMap::new() });
            }
            Some("end") => cases.push(current.take().unwrap_or_else(|| bad("end outside a case"))),
            Some(name) => {
                let case = current.as_mut().unwrap_or_else(|| bad("array outside a case"));
                let (head, values) = line.split_once(':').unwrap_or_else(|| bad("array without :"));
                let dims: Vec<usize> = head
                    .split_whitespace()
                    .skip(1)
                    .map(|d| d.parse().unwrap_or_else(|_| bad("bad dimension")))
                    .collect();
                let values: Vec<f64> = values
                    .split_whitespace()
                    .map(|v| v.parse().unwrap_or_else(|_| bad("bad value")))
                    .collect();
                if values.len() != dims.iter().product::<usize>() {
                    bad("value count does not match the dimensions");
                }
                case.arrays.insert(name.to_string(), Array { dims, values });
            }
            None => unreachable!(),
        }
    }
    if current.is_some() {
        panic!("fixture: unterminated case");
    }
    cases
}
