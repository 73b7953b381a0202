//! The one integration-test binary: every test runs the real `devboot` binary.

// Test helpers are `pub` for the test modules; the crate lint is about the library.
#![allow(unreachable_pub)]

mod convert;
mod devcontainer;
mod engine;
mod env;
mod gitpod;
mod harness;
mod init;
mod ports;
mod reliability;
mod schema;
mod up;
