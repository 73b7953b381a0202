//! The `devboot` binary: everything happens in [`devboot::run`].

fn main() -> std::process::ExitCode {
    devboot::run(std::env::args_os())
}
