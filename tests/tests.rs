//! Integration tests: one binary, one module per area.

mod cli;
mod config;
mod conv;
mod engine;
mod fast_paths;
mod fixtures;
mod formats;
mod fuzz;
mod gradcheck;
mod io;
mod modality;
mod ops_activation;
mod ops_conv_fixture;
mod ops_gram;
mod ops_pool;
mod ops_resample;
mod optim;
mod reference;
mod safety;
mod samples;
mod stylize;
mod tiled;
mod util;
mod vgg;
mod visualize;
mod weights;
