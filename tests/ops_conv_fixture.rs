//! Convolution against NumPy fixtures (PyTorch `conv2d`/`conv3d` semantics: cross-correlation,
//! weight `Co × Ci × K…`, bias, symmetric zero padding, stride, dilation).
//!
//! Not yet declared in `tests/tests.rs`: add `mod ops_conv_fixture;` there once
//! `ndstyle::tensor::conv::conv_forward` exists.

use ndstyle::tensor::conv::conv_forward;

use crate::fixtures::{parse, Case};
use crate::util::assert_close;

fn conv_case<const N: usize>(case: &Case) {
    let x = case.tensor::<N>("x");
    let w = case.tensor::<N>("w");
    let bias: Option<Vec<f32>> = case.get("b").map(|a| a.values.iter().map(|&v| v as f32).collect());
    assert_eq!(bias.is_some(), case.flag("bias", false), "{}: bias flag", case.op);
    let window = case.window::<N>();
    assert_eq!(window.kernel, w.spatial());
    let y = conv_forward(&x, &w, bias.as_deref(), &window).unwrap();
    let want = case.tensor::<N>("y");
    assert!(
        y.same_shape(&want),
        "{} {:?}: got {} want {}",
        case.op,
        case.params,
        y.shape_string(),
        want.shape_string()
    );
    assert_close(&format!("{} {:?}", case.op, case.params), y.data(), &case.array("y").values, 1e-5, 1e-5);
}

#[test]
fn conv_2d_matches_numpy_fixtures() {
    let cases = parse(include_str!("fixtures/conv2d.txt"));
    assert_eq!(cases.len(), 3);
    for case in &cases {
        assert_eq!(case.op, "conv2d");
        conv_case::<2>(case);
    }
}

#[test]
fn conv_3d_matches_numpy_fixtures() {
    let cases = parse(include_str!("fixtures/conv3d.txt"));
    assert_eq!(cases.len(), 2);
    for case in &cases {
        assert_eq!(case.op, "conv3d");
        conv_case::<3>(case);
    }
}
