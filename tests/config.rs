//! config: YAML experiments — the bad-config corpus, docs of every key, sweeps, resumption, shards, the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::listing;
use ndstyle::config::{self, raw, schema};
use ndstyle::datasets as images;
use ndstyle::experiment::{self, Observer, Options, RunOutcome, RunState, Shard, Silent};
use ndstyle::io::write_image;
use ndstyle::runner::Progress;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("ndstyle-config-").tempdir().unwrap()
}

/// A directory with three tiny 16×16 images and an experiment `exp.yaml` whose body is `body`
/// (inputs: content.png in the style of waves.png and stripes.png, 2 iterations).
fn experiment_dir(body: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tmp();
    write_image(d.path().join("content.png"), &images::landscape(16, 16)).unwrap();
    write_image(d.path().join("waves.png"), &images::waves(16, 16, 1)).unwrap();
    write_image(d.path().join("stripes.png"), &images::stripes(16, 16, 6.0)).unwrap();
    let text = format!(
        "version: 1\ninputs:\n  content: content.png\n  styles: [waves.png, {{path: stripes.png, weight: 0.5}}]\n\
         optimizer:\n  iterations: 2\n  checkpoint_every: 1\n{body}"
    );
    let cfg = d.path().join("exp.yaml");
    std::fs::write(&cfg, text).unwrap();
    (d, cfg)
}

const SWEEP_2X2: &str =
    "losses:\n  beta: [1e3, 1e4]\nextractor:\n  style_layers: [[relu1], [conv1, relu1]]\n";

/// Each file in tests/bad_configs carries `# error: MESSAGE` (a substring of the error, which
/// starts with file:line:column) and optionally `# set: KEY=VALUE` or `# shard: I/N`.
#[test]
fn bad_configs() {
    let dir = manifest().join("tests/bad_configs");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let directive = |name: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix(&format!("# {name}: ")))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let expected = directive("error");
        assert_eq!(expected.len(), 1, "{}: needs exactly one `# error:` line", case.display());
        let shard = directive("shard").first().map(|s| Shard::parse(s));
        let got = match shard {
            Some(Err(e)) => Err(ndstyle::Error::from(e)),
            _ => config::load(case, &directive("set"), None),
        };
        match got {
            Ok(_) => failures.push(format!("{}: accepted, expected {:?}", case.display(), expected[0])),
            Err(e) => {
                let msg = e.to_string();
                // Every message is located: SOURCE:LINE:COLUMN: KEY: MESSAGE.
                let located = msg.split(':').nth(1).is_some_and(|l| l.parse::<u32>().is_ok_and(|l| l > 0));
                if !msg.contains(&expected[0]) || !located {
                    failures.push(format!(
                        "{}:\n  expected {:?}\n  got      {:?}",
                        case.display(),
                        expected[0],
                        msg
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// docs/config.md is generated from the schema table, and the table covers every raw key.
#[test]
fn docs() {
    let path = manifest().join("docs/config.md");
    let want = schema::markdown();
    if std::env::var_os("NDSTYLE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    for key in raw::keys() {
        assert!(schema::doc(&key).is_some(), "raw key {key} is missing from schema::KEYS");
        assert!(have.contains(&format!("| `{key}` |")), "raw key {key} is missing from docs/config.md");
    }
    for d in schema::KEYS {
        let in_raw = raw::keys().iter().any(|k| k == d.key);
        assert!(in_raw, "documented key {} is not in the raw schema", d.key);
    }
    assert!(
        have == want,
        "docs/config.md is stale; run NDSTYLE_BLESS=1 cargo test --test tests config::docs"
    );
}

#[test]
fn example_configs_validate() {
    let exp = config::load(&manifest().join("configs/image_sweep.yaml"), &[], None).unwrap();
    let names: Vec<&str> = exp.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["beta=1e3", "beta=1e4"]);
    assert_eq!(exp.runs[0].rank, 2);
    assert_eq!(exp.runs[0].styles.len(), 2);
    assert_eq!(exp.runs[0].styles[1].1, 0.5);
    assert!(exp.out_dir.ends_with("configs/../runs/image_sweep"), "{}", exp.out_dir.display());
    // The example in docs/config.md is a valid experiment too (paths relative to docs/).
    let docs = manifest().join("docs");
    let exp = config::parse(schema::EXAMPLE, "example", &docs, "example", &[]).unwrap();
    assert_eq!(exp.runs.len(), 2);
}

#[test]
fn set_overrides_and_sweeps_from_the_command_line() {
    let (_d, cfg) = experiment_dir("");
    let exp = config::load(&cfg, &["losses.beta=5e3".into(), "init=content".into()], None).unwrap();
    assert_eq!(exp.runs.len(), 1);
    assert_eq!(exp.runs[0].name, "run");
    assert_eq!(exp.runs[0].settings.weights.style, 5e3);
    let exp = config::load(&cfg, &["losses.beta=[1, 2, 3]".into()], None).unwrap();
    let names: Vec<&str> = exp.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["beta=1", "beta=2", "beta=3"]);
}

#[test]
fn content_glob_is_a_batch() {
    let (d, cfg) = experiment_dir("");
    write_image(d.path().join("content2.png"), &images::landscape(16, 12)).unwrap();
    let exp = config::load(&cfg, &["inputs.content=content*.png".into(), "losses.beta=[1, 2]".into()], None)
        .unwrap();
    let names: Vec<&str> = exp.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["content2_beta=1", "content2_beta=2", "content_beta=1", "content_beta=2"]);
}

#[test]
fn sweep_2x2_makes_four_run_directories_and_an_index() {
    let (d, cfg) = experiment_dir(SWEEP_2X2);
    let out = d.path().join("out");
    let exp = config::load(&cfg, &[], Some(&out)).unwrap();
    let report = experiment::run(&exp, &Options::default(), &mut Silent).unwrap();
    let want = [
        "beta=1e3_layers=conv1+relu1",
        "beta=1e3_layers=relu1",
        "beta=1e4_layers=conv1+relu1",
        "beta=1e4_layers=relu1",
    ];
    assert_eq!(report.ran, want);
    let mut all = want.map(String::from).to_vec();
    all.extend(["contact_sheet.png", "index.md", "summary.csv"].map(String::from));
    all.sort();
    assert_eq!(listing(&out), all);
    for name in want {
        let files = listing(&out.join(name));
        assert_eq!(
            files,
            ["config.yaml", "metrics.json", "result.losses.csv", "result.losses.png", "result.png"],
            "{name}"
        );
        let m: experiment::Metrics =
            serde_json::from_str(&std::fs::read_to_string(out.join(name).join("metrics.json")).unwrap())
                .unwrap();
        assert!(m.final_loss.total.is_finite() && m.iterations >= 1 && m.threads >= 1);
        // The resolved config is itself a valid experiment giving the same single run.
        let again = config::load(&out.join(name).join("config.yaml"), &[], None).unwrap();
        assert_eq!(again.runs.len(), 1);
        assert_eq!(again.runs[0].settings, exp.runs.iter().find(|r| r.name == name).unwrap().settings);
    }
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(want.iter().all(|n| index.contains(n)), "{index}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    let sheet = ndstyle::io::read_image(out.join("contact_sheet.png"), None).unwrap();
    assert_eq!(sheet.spatial(), [2 * 132 + 4, 2 * 132 + 4]);
    let states = experiment::scan(&out).unwrap();
    assert!(states.iter().all(|(_, s)| matches!(s, RunState::Done(_))));
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn rerun_after_a_stop_finishes_the_rest_without_redoing() {
    let (d, cfg) = experiment_dir("losses:\n  beta: [1e3, 1e4, 1e5]\n");
    let out = d.path().join("out");
    let exp = config::load(&cfg, &[], Some(&out)).unwrap();
    // "Killed" after one run.
    let first =
        experiment::run(&exp, &Options { max_runs: Some(1), ..Options::default() }, &mut Silent).unwrap();
    assert_eq!(first.ran, ["beta=1e3"]);
    assert_eq!(first.not_reached, ["beta=1e4", "beta=1e5"]);
    let done = out.join("beta=1e3/metrics.json");
    let (t_metrics, t_result) = (mtime(&done), mtime(&out.join("beta=1e3/result.png")));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = experiment::run(&exp, &Options::default(), &mut Silent).unwrap();
    assert_eq!(second.finished_before, ["beta=1e3"]);
    assert_eq!(second.ran, ["beta=1e4", "beta=1e5"]);
    assert_eq!(mtime(&done), t_metrics);
    assert_eq!(mtime(&out.join("beta=1e3/result.png")), t_result);
}

/// Fails the run at `stop_at` iterations, as a kill would stop it.
struct StopAt(usize);
impl Observer for StopAt {
    fn iter(&mut self, p: &Progress) -> ndstyle::Result<()> {
        if p.iteration >= self.0 {
            return Err(ndstyle::Error::invalid("test", "interrupted"));
        }
        Ok(())
    }
}

#[test]
fn an_interrupted_run_resumes_from_its_checkpoint_to_the_same_result() {
    let (d, cfg) = experiment_dir("");
    let sets = ["optimizer.iterations=3".to_string()];
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let exp_a = config::load(&cfg, &sets, Some(&a)).unwrap();
    let report = experiment::run(&exp_a, &Options::default(), &mut StopAt(2)).unwrap();
    assert_eq!(report.failed.len(), 1);
    let run_dir = a.join("run");
    assert!(run_dir.join("error.txt").exists() && run_dir.join("result.ckpt").exists());
    assert!(!run_dir.join("lock").exists());
    assert!(
        matches!(experiment::state_of(&run_dir).unwrap(), RunState::Failed(m) if m.contains("interrupted"))
    );
    let r = experiment::run_one(&exp_a, &exp_a.runs[0], &mut Silent).unwrap();
    assert!(matches!(r, RunOutcome::Done { resumed: true, .. }), "{r:?}");
    assert!(!run_dir.join("error.txt").exists() && !run_dir.join("result.ckpt").exists());
    let exp_b = config::load(&cfg, &sets, Some(&b)).unwrap();
    experiment::run(&exp_b, &Options::default(), &mut Silent).unwrap();
    let bytes = |p: &Path| std::fs::read(p.join("run/result.png")).unwrap();
    assert!(bytes(&a) == bytes(&b), "a resumed run differs from an uninterrupted one");
}

#[test]
fn a_locked_run_is_left_to_its_owner() {
    let (d, cfg) = experiment_dir("");
    let out = d.path().join("out");
    let exp = config::load(&cfg, &[], Some(&out)).unwrap();
    std::fs::create_dir_all(out.join("run")).unwrap();
    // This process holds it: alive, so not stale.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    std::fs::write(out.join("run/lock"), format!("{} {}\n", host.trim(), std::process::id())).unwrap();
    let report = experiment::run(&exp, &Options::default(), &mut Silent).unwrap();
    assert_eq!(report.busy, ["run"]);
    assert!(!out.join("run/metrics.json").exists());
}

#[test]
fn shards_together_equal_one_unsharded_run() {
    let (d, cfg) = experiment_dir(SWEEP_2X2);
    let whole = d.path().join("whole");
    let exp = config::load(&cfg, &[], Some(&whole)).unwrap();
    let all = experiment::run(&exp, &Options::default(), &mut Silent).unwrap().ran;
    let mut seen = Vec::new();
    for i in 0..3 {
        let dir = d.path().join(format!("shard{i}"));
        let exp = config::load(&cfg, &[], Some(&dir)).unwrap();
        let opts = Options { shard: Shard::parse(&format!("{i}/3")).unwrap(), max_runs: None };
        let ran = experiment::run(&exp, &opts, &mut Silent).unwrap().ran;
        let want: Vec<String> = all.iter().skip(i).step_by(3).cloned().collect();
        assert_eq!(ran, want, "shard {i}/3");
        for name in &ran {
            let a = std::fs::read(whole.join(name).join("result.png")).unwrap();
            let b = std::fs::read(dir.join(name).join("result.png")).unwrap();
            assert!(a == b, "{name}: shard {i}/3 differs from the unsharded run");
        }
        seen.extend(ran);
    }
    seen.sort();
    assert_eq!(seen, all);
}

#[test]
fn the_binary_checks_runs_and_reports_status() {
    let (d, cfg) = experiment_dir("losses:\n  beta: [1e3, 1e4]\n");
    let out = d.path().join("out");
    let bin = env!("CARGO_BIN_EXE_ndstyle");
    let o = Command::new(bin).arg("check").arg(&cfg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 runs") && stdout.contains("beta=1e3") && stdout.contains("beta=1e4"),
        "{stdout}"
    );

    let o = Command::new(bin)
        .args(["--threads", "1", "run", "-q"])
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(bin).arg("status").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && stdout.contains("2 runs: 2 done"), "{stdout}");

    let o = Command::new(bin).arg("check").arg(&cfg).args(["--set", "losses.beta=-2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("--set losses.beta=-2:1:13: losses.beta: must be a finite number >= 0, not -2"),
        "{stderr}"
    );
}
