//! The pairings people have, end to end from the CLI and YAML: a painting for a video or a
//! volume, a grey style for a colour content and the reverse, a mixed grey/colour dataset.

use std::path::Path;
use std::process::Output;

use ndstyle::io::image::write_image;
use ndstyle::modality::color::adapt_channels;
use ndstyle::modality::video::{moving_disc, read_frames, write_frames, FrameMeta};
use ndstyle::{datasets, Tensor};

use super::util::ndstyle;

fn stylize(content: &Path, style: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut c = ndstyle();
    c.args(["--threads", "2", "stylize", "--quiet", "--iters", "4", "--allow-no-progress"]);
    c.arg("--content").arg(content).arg("--style").arg(style).arg("-o").arg(out);
    c.args(extra).output().unwrap()
}

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "failed: {err}");
    err
}

fn grey(t: &Tensor<2>) -> Tensor<2> {
    adapt_channels(t, 1).unwrap().0
}

#[test]
fn a_painting_styles_a_video_frame_by_frame() {
    let d = tempfile::tempdir().unwrap();
    let frames = d.path().join("frames");
    let disc = moving_disc(4, 16, 16).unwrap();
    write_frames(&frames, &disc, FrameMeta::default()).unwrap();
    let painting = d.path().join("painting.png");
    write_image(&painting, &datasets::waves(24, 24, 1)).unwrap();
    let out = d.path().join("out");
    let err = ok(&stylize(&frames, &painting, &out, &[]));
    assert!(err.contains("rank-2 styles applied to the content's slices across axis 0"), "{err}");
    assert!(err.contains("temporal term"), "{err}");
    let (t, _) = read_frames(&out).unwrap();
    assert_eq!((t.channels(), t.spatial()), (disc.channels(), [4, 16, 16]), "same frames count and size");
}

#[test]
fn a_texture_styles_a_volume_along_three_axes_from_yaml() {
    let d = tempfile::tempdir().unwrap();
    let vol = ndstyle::modality::volume::shepp_logan_3d(
        [12, 12, 12],
        ndstyle::modality::volume::Phantom::ModifiedSheppLogan,
    );
    ndstyle::modality::volume::write_nifti(
        &d.path().join("ct.nii.gz"),
        &vol.unwrap(),
        &ndstyle::modality::volume::VolumeMeta::with_spacing([1.0; 3]),
    )
    .unwrap();
    write_image(d.path().join("marble.png"), &grey(&datasets::stripes(16, 16, 4.0))).unwrap();
    let yaml = d.path().join("e.yaml");
    std::fs::write(
        &yaml,
        "version: 1\ninputs:\n  content: ct.nii.gz\n  styles: [marble.png]\noptimizer:\n  iterations: 3\n  allow_no_progress: true\ninit: content\n",
    )
    .unwrap();
    let check = ndstyle().arg("check").arg(&yaml).output().unwrap();
    let text = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success() && text.contains("rank-2 styles on slices across axes [0, 1, 2]"),
        "{text}"
    );
    let run = ndstyle()
        .args(["--threads", "2", "run", "--quiet"])
        .arg(&yaml)
        .arg("-o")
        .arg(d.path().join("runs"))
        .output()
        .unwrap();
    ok(&run);
    let (t, _) = ndstyle::data::load::<3>(&d.path().join("runs/run/result.nii.gz"), None).unwrap();
    assert_eq!(t.spatial(), [12, 12, 12]);
    // Axes that the content does not have are refused before any work, naming the value.
    let bad = ndstyle().arg("check").arg(&yaml).args(["--set", "inputs.style_axes=0,5"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains('5'));
}

#[test]
fn grey_and_colour_styles_meet_either_content() {
    let d = tempfile::tempdir().unwrap();
    let (rgb, grey_p) = (d.path().join("rgb.png"), d.path().join("grey.png"));
    write_image(&rgb, &datasets::landscape(16, 16)).unwrap();
    write_image(&grey_p, &grey(&datasets::waves(16, 16, 2))).unwrap();
    let err = ok(&stylize(&rgb, &grey_p, &d.path().join("a.png"), &[]));
    assert!(err.contains("grey style replicated to 3 channels"), "{err}");
    let err = ok(&stylize(&grey_p, &rgb, &d.path().join("b.png"), &[]));
    assert!(err.contains("RGB style reduced to grey by BT.601 luminance"), "{err}");
    let (a, _) = ndstyle::data::load::<2>(&d.path().join("a.png"), None).unwrap();
    let (b, _) = ndstyle::data::load::<2>(&d.path().join("b.png"), None).unwrap();
    assert_eq!((a.channels(), b.channels()), (3, 1), "the result keeps the content's channels");
}

#[test]
fn a_mixed_grey_and_colour_folder_visualises() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("photos");
    std::fs::create_dir(&data).unwrap();
    write_image(data.join("a.png"), &datasets::landscape(16, 16)).unwrap();
    write_image(data.join("b.png"), &grey(&datasets::waves(16, 16, 3))).unwrap();
    let o = ndstyle()
        .args(["visualize", "--quiet", "--layer", "relu1", "--units", "first:2", "--top", "2", "--data"])
        .arg(&data)
        .arg("-o")
        .arg(d.path().join("vis"))
        .output()
        .unwrap();
    ok(&o);
    assert!(d.path().join("vis/relu1.png").exists());
}
