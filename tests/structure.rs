//! The shape of the code: lower layers never import upper ones, every format is known
//! everywhere through the registry, and the CLI and YAML share one table of defaults.

use std::path::{Path, PathBuf};

use ndstyle::modality::registry::{self, FORMATS};
use ndstyle::runner::given::SETTINGS;
use ndstyle::runner::Given;

use super::util::ndstyle;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each top-level module with its layer: a module may use only modules of lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("rng", 0),
    ("profile", 0),
    ("heap", 0),
    ("budget", 1),
    ("tensor", 2),
    ("io", 3),
    ("nn", 3),
    ("rank", 3),
    ("modality", 4),
    ("optim", 4),
    ("tile", 4),
    ("weights", 4),
    ("losses", 5),
    ("extractors", 5),
    ("data", 6),
    ("datasets", 6),
    ("runner", 7),
    ("visualize", 7),
    ("pipeline", 8),
    ("config", 9),
    ("experiment", 10),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs, main.rs and the CLI).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main" | "cli")).then_some(name)
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let src = manifest().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let layer = |m: &str| LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l);
    let mut violations = Vec::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else { continue };
        let own = layer(&m).unwrap_or_else(|| panic!("module {m} has no layer in LAYERS"));
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + 7..];
                let used: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if used == m {
                    continue;
                }
                if let Some(l) = layer(&used) {
                    if l >= own {
                        violations.push(format!(
                            "{}:{}: {m} (layer {own}) uses {used} (layer {l})",
                            f.display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
    // The check itself sees imports: error.rs would fail if it imported config again.
    assert!(layer("config").unwrap() > layer("error").unwrap());
}

/// The `## Formats` table of docs/modalities.md is generated from the registry.
#[test]
fn modalities_doc_lists_the_registry() {
    let path = manifest().join("docs/modalities.md");
    let have = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- formats:begin -->\n", "<!-- formats:end -->");
    let (a, b) =
        (have.find(begin).expect("formats:begin marker"), have.find(end).expect("formats:end marker"));
    let want = format!("{}{begin}{}{}", &have[..a], registry::markdown(), &have[b..]);
    if std::env::var_os("NDSTYLE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap();
    assert!(
        have == want,
        "docs/modalities.md is stale; run NDSTYLE_BLESS=1 cargo test --test tests structure::"
    );
}

/// Every registered format is detected from its spelling, named by `ndstyle info` and by the
/// error for an unknown input, and accepted by `outputs.format` for content of its own kind.
#[test]
fn every_format_is_known_everywhere() {
    let info = ndstyle().arg("info").output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let dir = tempfile::tempdir().unwrap();
    let unknown = registry::detect(Path::new("notes.txt")).err().unwrap().to_string();
    for f in FORMATS {
        let sample = match f.extensions().first() {
            Some(e) if f.name() == "h5" => PathBuf::from(format!("v.{e}:/data")),
            Some(e) => PathBuf::from(format!("x.{e}")),
            None => dir.path().to_path_buf(),
        };
        assert_eq!(registry::detect(&sample).unwrap().name(), f.name(), "{}", sample.display());
        assert!(info.contains(&format!("  {}", f.name())), "ndstyle info does not list {}", f.name());
        let spelling = f.about().spelling.replace('`', "");
        assert!(unknown.contains(&spelling), "the unknown-input error does not mention {spelling}");
        assert_eq!(registry::by_name(f.name()).unwrap().name(), f.name());
        if let Some(k) = f.kind() {
            assert_eq!(f.refuses(Some(k), k.rank()), None, "{} refuses its own kind", f.name());
            assert!(f.refuses(None, k.rank() % 3 + 1).is_some(), "{} takes any rank", f.name());
        }
    }
}

/// `stylize --help` shows the table's defaults, and a YAML run that sets nothing gets them too.
#[test]
fn cli_and_yaml_share_one_table_of_defaults() {
    let help = ndstyle().args(["stylize", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for s in SETTINGS {
        let at = help.find(&format!("{} <", s.flag)).unwrap_or_else(|| panic!("{} not in --help", s.flag));
        let entry = &help[at..];
        let entry = &entry[..entry[2..].find("\n  -").map_or(entry.len(), |e| e + 2)];
        if s.default != "none" {
            assert!(entry.contains(&format!("[default: {}]", s.default)), "{}: {entry}", s.flag);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("s.npy");
    ndstyle::io::npy::write_npy(&sig, &[64], &[0.5; 64]).unwrap();
    let yaml = dir.path().join("e.yaml");
    std::fs::write(&yaml, "version: 1\ninputs:\n  content: s.npy\n  styles: [s.npy]\n").unwrap();
    let exp = ndstyle::config::load(&yaml, &[], None).unwrap();
    assert_eq!(exp.runs[0].settings, Given::default().build(None, false).unwrap());
    assert_eq!(exp.runs[0].settings.checkpoint_every, 10);
    assert_eq!(exp.runs[0].settings.extractor.name, "random-bank");
}
