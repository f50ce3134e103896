//! Integration tests: one binary, one module per area.

mod config;
mod conv;
mod engine;
mod fixtures;
mod gradcheck;
mod io;
mod ops_activation;
mod ops_conv_fixture;
mod ops_gram;
mod ops_pool;
mod ops_resample;
mod optim;
mod reference;
mod util;
mod weights;
