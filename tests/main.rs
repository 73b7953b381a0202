//! The one integration-test binary: every test runs the real `devboot` binary.

// Test helpers are `pub` for the test modules; the crate lint is about the library.
#![allow(unreachable_pub)]

mod boundary;
mod completions;
mod compose;
mod convert;
mod credentials;
mod devcontainer;
mod doctor;
mod dotfiles;
mod engine;
mod env;
mod features;
mod features_cli;
mod features_fetch;
mod features_registry;
mod gitpod;
mod gp;
mod harness;
mod host_requirements;
mod in_place;
mod in_place_container;
mod init;
mod lanes;
mod leftovers;
mod ports;
mod prebuild;
mod reliability;
mod remote_engine;
mod remote_sandbox;
mod remote_user_uid;
mod remote_workspace;
mod schema;
mod secrets_recommended;
mod security_mounts;
mod security_secrets;
mod shutdown_action;
mod terminal;
mod trust;
mod up;
mod user_env_probe;
mod wait_for;
