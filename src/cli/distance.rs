//! `ndstyle distance A B`: the content and style (Gram) distances between two inputs.

use std::path::PathBuf;

use clap::Args;

use super::{parse_style_layers, ExtractorArgs};
use ndstyle::data;
use ndstyle::extractors;
use ndstyle::losses::{Objective, Weights};
use ndstyle::with_rank;

#[derive(Args, Debug)]
pub struct DistanceArgs {
    /// The first input (the reference: its activations and Gram matrices are the targets).
    pub a: PathBuf,
    /// The second input.
    pub b: PathBuf,
    #[command(flatten)]
    pub ext: ExtractorArgs,
}

pub fn run(a: &DistanceArgs) -> anyhow::Result<()> {
    let rank = data::probe_rank(&a.a, &a.ext.load_options()?)?;
    with_rank!(rank, N => run_rank::<N>(a))
}

fn run_rank<const N: usize>(a: &DistanceArgs) -> anyhow::Result<()> {
    let o = a.ext.load_options()?;
    let (x, _) = data::load_with::<N>(&a.a, &o)?;
    let (y, _) = data::load_with::<N>(&a.b, &o)?;
    if x.channels() != y.channels() {
        anyhow::bail!(
            "{} has {} channels but {} has {}",
            a.a.display(),
            x.channels(),
            a.b.display(),
            y.channels()
        );
    }
    let ext = extractors::build::<N>(&a.ext.spec(&a.a)?, x.channels())?;
    let content_layers = a.ext.content_layers.clone().unwrap_or(ext.content_layers.clone());
    let style_layers = match &a.ext.style_layers {
        Some(l) => parse_style_layers(l)?,
        None => ext.style_layers.iter().map(|l| (l.clone(), 1.0 / ext.style_layers.len() as f64)).collect(),
    };
    let weights = Weights { content: 1.0, style: 1.0, tv: 0.0, norm: a.ext.norm.parse()? };
    let content_target = (x.spatial() == y.spatial()).then_some((&x, content_layers.as_slice()));
    let obj = Objective::new(&ext.net, weights, content_target, &[(&x, 1.0)], &style_layers)?;
    let (b, _) = obj.eval(&y)?;
    match content_target {
        Some(_) => println!("content\t{:.6e}\t({})", b.content, content_layers.join(",")),
        None => println!("content\tn/a\t(the inputs differ in size)"),
    }
    let style: f64 = style_layers.iter().zip(&b.style).map(|((_, w), (_, j))| w * j).sum();
    println!("style\t{style:.6e}\t(weighted sum)");
    for (l, j) in &b.style {
        println!("style:{l}\t{j:.6e}");
    }
    Ok(())
}
