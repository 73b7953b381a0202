//! The one integration-test binary: every test runs the real `devboot` binary.

// Test helpers are `pub` for the test modules; the crate lint is about the library.
#![allow(unreachable_pub)]

mod devcontainer;
mod engine;
mod gitpod;
mod harness;
mod schema;
mod up;
