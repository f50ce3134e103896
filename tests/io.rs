//! io: .npy, PNG/JPEG, the losses CSV, loss plots and atomic writes; bad files name themselves.

use crate::util::listing;
use ndstyle::io::{self, Layout, LossLogWriter, LossRow, NdArray};
use ndstyle::Tensor;
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("ndstyle-io-").tempdir().unwrap()
}

/// A hand-built .npy: magic, version, header length, `header` padded to 64 bytes, then `payload`.
fn npy_bytes(major: u8, header: &str, payload: &[u8]) -> Vec<u8> {
    let prefix = if major == 1 { 10 } else { 12 };
    let mut h = header.as_bytes().to_vec();
    while !(prefix + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    out
}

fn dict(descr: &str, fortran: bool, shape: &str) -> String {
    let f = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}")
}

fn write_fixture(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[track_caller]
fn assert_names_file<T: std::fmt::Debug>(r: ndstyle::Result<T>, file: &str, also: &str) {
    let msg = r.expect_err("expected an error").to_string();
    assert!(msg.contains(file), "message does not name {file}: {msg}");
    assert!(msg.to_lowercase().contains(&also.to_lowercase()), "message lacks '{also}': {msg}");
}

// ---------------------------------------------------------------- npy

#[test]
fn npy_f4_round_trip_ranks_0_to_5() {
    let d = tmp();
    let shapes: [&[usize]; 7] = [&[], &[5], &[2, 3], &[2, 1, 3], &[1, 2, 2, 3], &[2, 1, 2, 1, 3], &[0, 4]];
    for (k, shape) in shapes.iter().enumerate() {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0 + f32::EPSILON * k as f32).collect();
        let p = d.path().join(format!("a{k}.npy"));
        io::write_npy(&p, shape, &data).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "header alignment");
        assert_eq!(bytes[6], 1, "written as version 1.0");
        let got = io::read_npy(&p).unwrap();
        assert_eq!(got, NdArray { shape: shape.to_vec(), data });
    }
    assert_eq!(listing(d.path()).len(), shapes.len(), "no temporary files left");
}

#[test]
fn npy_f8_and_integer_fixtures() {
    let d = tmp();
    let f8: Vec<u8> = [1.5f64, -2.25, 1e10, 0.1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write_fixture(d.path(), "f8.npy", &npy_bytes(1, &dict("<f8", false, "(2, 2)"), &f8));
    let a = io::read_npy(&p).unwrap();
    assert_eq!(a.shape, vec![2, 2]);
    assert_eq!(a.data, vec![1.5, -2.25, 1e10, 0.1f64 as f32]);

    let cases: Vec<(&str, Vec<u8>, Vec<f32>)> = vec![
        (
            "<i2",
            [-3i16, 7, i16::MIN].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![-3.0, 7.0, -32768.0],
        ),
        (
            "<i4",
            [-100_000i32, 5, 0].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![-100_000.0, 5.0, 0.0],
        ),
        ("|u1", vec![0, 128, 255], vec![0.0, 128.0, 255.0]),
        (
            "<i8",
            [-(1i64 << 40), 1, -1].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![-(2f32.powi(40)), 1.0, -1.0],
        ),
        (
            ">i4",
            [-7i32, 1 << 20, 3].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![-7.0, 1048576.0, 3.0],
        ),
        (">f8", [0.5f64, -4.0, 8.0].iter().flat_map(|v| v.to_be_bytes()).collect(), vec![0.5, -4.0, 8.0]),
        ("<u2", [65535u16, 1, 2].iter().flat_map(|v| v.to_le_bytes()).collect(), vec![65535.0, 1.0, 2.0]),
    ];
    for (descr, payload, want) in cases {
        let p = write_fixture(d.path(), "int.npy", &npy_bytes(1, &dict(descr, false, "(3,)"), &payload));
        let a = io::read_npy(&p).unwrap_or_else(|e| panic!("{descr}: {e}"));
        assert_eq!(a.shape, vec![3], "{descr}");
        assert_eq!(a.data, want, "{descr}");
    }
}

#[test]
fn npy_versions_2_and_3_and_header_variants() {
    let d = tmp();
    let payload: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    for major in [2u8, 3] {
        let p = write_fixture(d.path(), "v.npy", &npy_bytes(major, &dict("<f4", false, "(3, 2)"), &payload));
        let a = io::read_npy(&p).unwrap();
        assert_eq!((a.shape.clone(), a.data[5]), (vec![3, 2], 6.0), "version {major}");
    }
    // Keys in another order, double quotes, no trailing comma, Python 2 long integers.
    let h = "{\"shape\": (3L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}";
    let p = write_fixture(d.path(), "odd.npy", &npy_bytes(1, h, &payload));
    assert_eq!(io::read_npy(&p).unwrap().shape, vec![3, 2]);
}

#[test]
fn npy_bad_files_name_the_file() {
    let d = tmp();
    let good = npy_bytes(1, &dict("<f4", false, "(4,)"), &[0u8; 16]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated_data.npy", good[..good.len() - 3].to_vec(), "truncated"),
        ("truncated_header.npy", good[..30].to_vec(), "truncated"),
        ("trailing.npy", [good.clone(), vec![0; 4]].concat(), "unexpected bytes"),
        ("wrong_magic.npy", [b"\x93NUMPZ".to_vec(), good[6..].to_vec()].concat(), "magic"),
        ("empty.npy", vec![], "empty"),
        ("fortran.npy", npy_bytes(1, &dict("<f4", true, "(2, 2)"), &[0u8; 16]), "fortran"),
        ("complex.npy", npy_bytes(1, &dict("<c8", false, "(2,)"), &[0u8; 16]), "unsupported dtype"),
        // A multi-byte character where the type code goes (found by the mutation fuzzer).
        ("multibyte_descr.npy", npy_bytes(1, &dict("<é4", false, "(2,)"), &[0u8; 8]), "unsupported dtype"),
        ("version9.npy", [&good[..6], &[9u8, 0], &good[8..]].concat(), "version"),
        ("garbage_header.npy", npy_bytes(1, "{'descr': <f4}", &[]), "malformed"),
        (
            "nan.npy",
            npy_bytes(
                1,
                &dict("<f4", false, "(3,)"),
                &[1.0f32, f32::NAN, 2.0].map(f32::to_le_bytes).concat(),
            ),
            "non-finite",
        ),
        ("inf64.npy", npy_bytes(1, &dict("<f8", false, "(1,)"), &1e300f64.to_le_bytes()), "non-finite"),
    ];
    for (name, bytes, why) in cases {
        let p = write_fixture(d.path(), name, &bytes);
        assert_names_file(io::read_npy(&p), name, why);
    }
    assert_names_file(io::read_npy(d.path().join("missing.npy")), "missing.npy", "");
    assert_names_file(io::ensure_finite("x/values.npy", &[0.0, f32::INFINITY]), "values.npy", "non-finite");
    assert!(io::ensure_finite("ok.npy", &[0.0, -1.0]).is_ok());
}

#[test]
fn npy_write_errors_leave_no_file() {
    let d = tmp();
    let p = d.path().join("bad_shape.npy");
    assert_names_file(io::write_npy(&p, &[2, 3], &[0.0; 5]), "bad_shape.npy", "shape");
    assert!(listing(d.path()).is_empty());
    // An existing file is kept intact when a later write fails.
    io::write_npy(&p, &[2], &[1.0, 2.0]).unwrap();
    assert!(io::write_npy(&p, &[3], &[1.0]).is_err());
    assert_eq!(io::read_npy(&p).unwrap().data, vec![1.0, 2.0]);
    assert_eq!(listing(d.path()), vec!["bad_shape.npy"]);
}

#[test]
fn npy_to_tensor_ranks_and_layouts() {
    let src = Path::new("in/x.npy");
    let a = |shape: &[usize]| NdArray {
        shape: shape.to_vec(),
        data: (0..shape.iter().product()).map(|i| i as f32).collect(),
    };
    // Rank N: one single-channel item.
    let t = io::to_tensor::<2>(a(&[3, 4]), Layout::ChannelsFirst, src).unwrap();
    assert_eq!(t.dims(), vec![1, 1, 3, 4]);
    // Rank N + 1: channels first.
    let t = io::to_tensor::<1>(a(&[2, 5]), Layout::ChannelsFirst, src).unwrap();
    assert_eq!((t.dims(), t.at(0, 1, [0])), (vec![1, 2, 5], 5.0));
    // Rank N + 2: a batch.
    let t = io::to_tensor::<3>(a(&[2, 1, 2, 3, 4]), Layout::ChannelsFirst, src).unwrap();
    assert_eq!(t.dims(), vec![2, 1, 2, 3, 4]);
    // Channels last: H×W×C with C = 3 is transposed.
    let t = io::to_tensor::<2>(a(&[2, 2, 3]), Layout::ChannelsLast, src).unwrap();
    assert_eq!(t.dims(), vec![1, 3, 2, 2]);
    assert_eq!(t.channel(0, 1), &[1.0, 4.0, 7.0, 10.0]);
    let t = io::to_tensor::<1>(a(&[2, 4, 3]), Layout::ChannelsLast, src).unwrap();
    assert_eq!((t.dims(), t.at(1, 2, [3])), (vec![2, 3, 4], 23.0));
    // Other ranks: an error naming the file and both shapes.
    for shape in [&[7][..], &[1, 2, 3, 4, 5]] {
        let msg = io::to_tensor::<2>(a(shape), Layout::ChannelsFirst, src).unwrap_err().to_string();
        assert!(
            msg.contains("x.npy") && msg.contains(&format!("{shape:?}").replace('[', "(").replace(']', ""))
        );
        assert!(msg.contains("B×C×S1×S2"), "{msg}");
    }
    // from_tensor inverts to_tensor for both layouts.
    let t = Tensor::<2>::uniform(2, 3, [2, 5], -1.0, 1.0, 7);
    for layout in [Layout::ChannelsFirst, Layout::ChannelsLast] {
        let arr = io::from_tensor(&t, layout);
        assert_eq!(arr.shape.len(), 4);
        assert_eq!(io::to_tensor::<2>(arr, layout, src).unwrap(), t);
    }
    assert_eq!(io::from_tensor(&t, Layout::ChannelsLast).shape, vec![2, 2, 5, 3]);
}

#[test]
fn npy_tensor_file_round_trip() {
    let d = tmp();
    let t = Tensor::<3>::randn(1, 2, [2, 3, 4], 1.0, 3);
    let p = d.path().join("vol.npy");
    io::write_tensor_npy(&p, &t, Layout::ChannelsFirst).unwrap();
    assert_eq!(io::read_npy_tensor::<3>(&p, Layout::ChannelsFirst).unwrap(), t);
    assert_names_file(io::read_npy_tensor::<1>(&p, Layout::ChannelsFirst), "vol.npy", "(1, 2, 2, 3, 4)");
}

// ---------------------------------------------------------------- images

/// A tensor whose values are all exact 8-bit levels k/255.
fn levels(c: usize, h: usize, w: usize) -> Tensor<2> {
    let data = (0..c * h * w).map(|i| ((i * 37 + 11) % 256) as f32 / 255.0).collect();
    Tensor::from_vec(1, c, [h, w], data).unwrap()
}

#[test]
fn png_grey_and_rgb_round_trip_exactly() {
    let d = tmp();
    for c in [1, 3] {
        let t = levels(c, 5, 7);
        let p = d.path().join(format!("img{c}.png"));
        io::write_image(&p, &t).unwrap();
        let back = io::read_image(&p, None).unwrap();
        assert_eq!(back.dims(), vec![1, c, 5, 7]);
        assert_eq!(back, t, "{c} channel(s)");
    }
    // Out-of-range values are clamped.
    let t = Tensor::from_vec(1, 1, [1, 3], vec![-0.5, 2.0, f32::NAN]).unwrap();
    let p = d.path().join("clamp.png");
    io::write_image(&p, &t).unwrap();
    assert_eq!(io::read_image(&p, None).unwrap().data(), &[0.0, 1.0, 0.0]);
}

#[test]
fn rgba_png_drops_alpha_and_grey16_scales() {
    let d = tmp();
    let p = d.path().join("rgba.png");
    let rgba = image::RgbaImage::from_fn(4, 2, |x, y| image::Rgba([x as u8 * 60, y as u8 * 200, 17, 0]));
    rgba.save(&p).unwrap();
    let t = io::read_image(&p, None).unwrap();
    assert_eq!(t.dims(), vec![1, 3, 2, 4]);
    assert_eq!(t.at(0, 0, [1, 3]), 180.0 / 255.0);
    assert_eq!(t.at(0, 1, [1, 0]), 200.0 / 255.0);

    let p = d.path().join("grey16.png");
    image::ImageBuffer::<image::Luma<u16>, _>::from_fn(3, 1, |x, _| image::Luma([x as u16 * 30000]))
        .save(&p)
        .unwrap();
    let t = io::read_image(&p, None).unwrap();
    assert_eq!(t.dims(), vec![1, 1, 1, 3]);
    assert!((t.data()[2] - 60000.0 / 65535.0).abs() < 1e-6);
}

#[test]
fn jpeg_write_read_and_resize_keeps_aspect() {
    let d = tmp();
    let t = Tensor::<2>::full(1, 3, [20, 40], 0.5);
    let p = d.path().join("flat.JPG");
    io::write_image(&p, &t).unwrap();
    let back = io::read_image(&p, None).unwrap();
    assert_eq!(back.dims(), vec![1, 3, 20, 40]);
    assert!(back.data().iter().all(|v| (v - 0.5).abs() < 0.02));

    let small = io::read_image(&p, Some(10)).unwrap();
    assert_eq!(small.dims(), vec![1, 3, 5, 10]);
    assert!(small.data().iter().all(|v| (0.0..=1.0).contains(v)));
    let q = d.path().join("tall.png");
    io::write_image(&q, &levels(1, 30, 9)).unwrap();
    assert_eq!(io::read_image(&q, Some(60)).unwrap().spatial(), [60, 18]);
}

#[test]
fn image_errors_name_the_file_and_write_nothing() {
    let d = tmp();
    let t = levels(3, 2, 2);
    assert_names_file(
        io::write_image(d.path().join("out.bmp"), &t),
        "out.bmp",
        "unsupported image extension",
    );
    assert_names_file(io::write_image(d.path().join("noext"), &t), "noext", "unsupported image extension");
    let batch2 = Tensor::<2>::zeros(2, 3, [2, 2]);
    assert_names_file(io::write_image(d.path().join("b2.png"), &batch2), "b2.png", "batch");
    let c2 = Tensor::<2>::zeros(1, 2, [2, 2]);
    assert_names_file(io::write_image(d.path().join("c2.png"), &c2), "c2.png", "channels");
    assert!(listing(d.path()).is_empty(), "{:?}", listing(d.path()));

    let p = write_fixture(d.path(), "pic.tiff", b"II*\0");
    assert_names_file(io::read_image(&p, None), "pic.tiff", "unsupported image extension");
    let p = write_fixture(d.path(), "empty.png", b"");
    assert_names_file(io::read_image(&p, None), "empty.png", "empty");
    let p = write_fixture(d.path(), "junk.jpg", b"this is not a jpeg at all");
    assert_names_file(io::read_image(&p, None), "junk.jpg", "decode");
    assert_names_file(io::read_image(d.path().join("absent.png"), None), "absent.png", "");
}

// ---------------------------------------------------------------- losses CSV

#[test]
fn loss_log_round_trip_and_append() {
    let d = tmp();
    let p = d.path().join("losses.csv");
    let layers = ["conv1_1", "conv2_1"];
    let rows: Vec<LossRow> = (0..3)
        .map(|i| LossRow {
            iteration: i * 10,
            total: 1.0 / (i as f64 + 0.3),
            content: 0.1 * i as f64,
            style: vec![1e-7 * i as f64, 3.25],
            tv: 0.0,
            seconds: 0.125 * i as f64,
        })
        .collect();
    {
        let mut w = LossLogWriter::create(&p, &layers).unwrap();
        w.write_row(&rows[0]).unwrap();
        // Flushed per row: readable while the writer is still open.
        assert_eq!(io::read_loss_log(&p).unwrap().rows.len(), 1);
        w.write_row(&rows[1]).unwrap();
        let bad = LossRow { style: vec![1.0], ..rows[0].clone() };
        assert_names_file(w.write_row(&bad), "losses.csv", "style");
    }
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.starts_with("iteration,total,content,style_conv1_1,style_conv2_1,tv,seconds\n"), "{text}");
    LossLogWriter::append(&p, &layers).unwrap().write_row(&rows[2]).unwrap();

    let log = io::read_loss_log(&p).unwrap();
    assert_eq!(log.style_layers(), vec!["conv1_1", "conv2_1"]);
    assert_eq!(log.rows.len(), 3);
    for (r, want) in log.rows.iter().zip(&rows) {
        let mut v = vec![want.iteration as f64, want.total, want.content];
        v.extend(&want.style);
        v.extend([want.tv, want.seconds]);
        assert_eq!(r, &v, "exact f64 round trip");
    }
    assert_eq!(log.column("total").unwrap()[1], rows[1].total);
    let series = log.series();
    assert_eq!(
        series.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["total", "content", "style_conv1_1", "style_conv2_1", "tv"]
    );
    assert_eq!(series[0].1[2], (20.0, rows[2].total));

    assert_names_file(LossLogWriter::append(&p, &["other"]), "losses.csv", "header");
    assert_names_file(LossLogWriter::create(d.path().join("l2.csv"), &["a,b"]), "l2.csv", "comma");
    assert!(!d.path().join("l2.csv").exists());
    let bad = write_fixture(d.path(), "bad.csv", b"iteration,total\n0,1\n1,x\n");
    assert_names_file(io::read_loss_log(&bad), "bad.csv", "line 3");
    let empty = write_fixture(d.path(), "empty.csv", b"");
    assert_names_file(io::read_loss_log(&empty), "empty.csv", "empty");
}

// ---------------------------------------------------------------- plot

#[test]
fn plot_writes_a_png_of_the_requested_size() {
    let d = tmp();
    let p = d.path().join("losses.png");
    let series = vec![
        ("total".to_string(), (0..50).map(|i| (i as f64, 1e3 * (-0.1 * i as f64).exp())).collect::<Vec<_>>()),
        ("content".to_string(), (0..50).map(|i| (i as f64, 1.0 + 0.5 * (i as f64 * 0.3).sin())).collect()),
        ("tv".to_string(), (0..50).map(|i| (i as f64, 0.0)).collect()),
    ];
    io::plot_losses_with_size(&p, "Style transfer losses", &series, (480, 300)).unwrap();
    let img = image::open(&p).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (480, 300));
    let white = img.pixels().filter(|px| px.0 == [255, 255, 255]).count();
    let total = (480 * 300) as usize;
    assert!(white < total * 99 / 100, "almost blank: {white} white of {total}");
    assert!(white > total / 2, "background should be white: {white} of {total}");
    let colourful =
        img.pixels().filter(|px| px.0.iter().max().unwrap() - px.0.iter().min().unwrap() > 60).count();
    assert!(colourful > 200, "coloured lines missing: {colourful}");

    // The default size, through plot_losses, with one single-point series.
    let q = d.path().join("one.png");
    io::plot_losses(&q, "one point", &[("total", vec![(0.0, 2.0)])]).unwrap();
    assert_eq!(image::open(&q).unwrap().into_rgb8().dimensions(), io::PLOT_SIZE);
}

#[test]
fn plot_errors_name_the_file_and_write_nothing() {
    let d = tmp();
    let nothing = [("tv", vec![(0.0, 0.0), (1.0, f64::NAN)])];
    assert_names_file(
        io::plot_losses(d.path().join("flat.png"), "t", &nothing),
        "flat.png",
        "nothing to plot",
    );
    let one = [("total", vec![(0.0, 1.0)])];
    assert_names_file(io::plot_losses(d.path().join("plot.svg"), "t", &one), "plot.svg", ".png");
    assert_names_file(
        io::plot_losses_with_size(d.path().join("tiny.png"), "t", &one, (10, 10)),
        "tiny.png",
        "size",
    );
    assert!(listing(d.path()).is_empty());
}

// ---------------------------------------------------------------- atomic writes

#[test]
fn atomic_write_is_all_or_nothing() {
    use std::io::Write;
    let d = tmp();
    let p = d.path().join("ckpt.bin");
    io::atomic_write(&p, |w| w.write_all(b"first")).unwrap();
    let r = io::atomic_write(&p, |w| {
        w.write_all(b"partial")?;
        Err::<(), _>(std::io::Error::other("disk full"))
    });
    assert_names_file(r, "ckpt.bin", "disk full");
    assert_eq!(std::fs::read(&p).unwrap(), b"first");
    let caught = std::panic::catch_unwind(|| {
        let _ = io::atomic_write(&p, |w| -> std::io::Result<()> {
            w.write_all(b"x")?;
            panic!("writer panicked")
        });
    });
    assert!(caught.is_err());
    assert_eq!(std::fs::read(&p).unwrap(), b"first");
    assert_eq!(listing(d.path()), vec!["ckpt.bin"], "no temporary file left");
    let n = io::atomic_write(&p, |w| w.write_all(b"second").map(|_| 6)).unwrap();
    assert_eq!((n, std::fs::read(&p).unwrap()), (6, b"second".to_vec()));
    assert_names_file(io::atomic_write(d.path().join("no/such/dir.bin"), |_| Ok(())), "dir.bin", "");
}
