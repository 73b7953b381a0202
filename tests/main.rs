//! The one integration-test binary: every test runs the real `devboot` binary.

// Test helpers are `pub` for the test modules; the crate lint is about the library.
#![allow(unreachable_pub)]

mod boundary;
mod compose;
mod convert;
mod devcontainer;
mod engine;
mod env;
mod gitpod;
mod harness;
mod init;
mod ports;
mod schema;
mod trust;
mod up;
